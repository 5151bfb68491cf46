"""auth: azure without the azure extra: the Entra ID token of the Azure CLI's login
(what azure/login leaves on a GitHub runner), exchanged at the registry for an ACR token."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from promoter.errors import AuthError
from promoter.registry import RegistryClient, RegistryOptions
from promoter.registry.access.keychain import DefaultCredentials
from promoter.registry.access.options import RegistryConfig
from tests.support.registry import Registry
from tests.support.tls import HTPASSWD_PASSWORD, HTPASSWD_USER
from tests.support.token_server import TokenServer

pytestmark = pytest.mark.registry


@pytest.fixture
def token_server(tmp_path: Path) -> Iterator[TokenServer]:
    server = TokenServer(
        users={HTPASSWD_USER: (HTPASSWD_PASSWORD, ("pull", "push"))},
        entra_token="entra-from-az-cli-0123456789",
    ).start(tmp_path / "token")
    yield server
    server.stop()


def _stand_in_az(directory: Path, answer: dict[str, str] | None, code: int = 0) -> Path:
    """An ``az`` that records its arguments and prints ``answer`` (as the CLI prints JSON)."""
    directory.mkdir()
    script = directory / "az"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(directory / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"sys.stdout.write({json.dumps(answer)!r})\n"
        "sys.stderr.write('ERROR: Please run az login to setup account.\\n')\n"
        f"sys.exit({code})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return directory


def _client(registry: Registry, path: Path) -> RegistryClient:
    settings = RegistryConfig(registry.host, auth="azure", tenant="tenant-7")  # type: ignore[arg-type]
    credentials = DefaultCredentials(
        environ={"PATH": str(path)}, registries={registry.host: settings}
    )
    return RegistryClient(registry.host, RegistryOptions(credentials=credentials))


def test_the_azure_cli_login_is_exchanged(
    registry_factory: Callable[..., Registry], token_server: TokenServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # the azure extra is not installed
    registry = registry_factory(
        token=token_server.token_auth_config(realm=f"{token_server.url}/oauth2/token")
    )
    az = _stand_in_az(
        tmp_path / "bin", {"accessToken": token_server.entra_token or "", "tokenType": "Bearer"}
    )
    with _client(registry, az) as client:
        assert client.list_tags("acr/app") == []
    argv = json.loads((az / "argv.json").read_text())
    assert argv[:2] == ["account", "get-access-token"]
    assert argv[argv.index("--scope") + 1] == "https://containerregistry.azure.net/.default"
    assert argv[argv.index("--tenant") + 1] == "tenant-7"
    assert "/oauth2/exchange" in [r.path for r in token_server.requests]


def test_no_login_is_a_clear_auth_error(
    registry_factory: Callable[..., Registry], token_server: TokenServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    registry = registry_factory(
        token=token_server.token_auth_config(realm=f"{token_server.url}/oauth2/token")
    )
    az = _stand_in_az(tmp_path / "bin", None, code=1)
    with _client(registry, az) as client, pytest.raises(AuthError) as refused:
        client.list_tags("acr/app")
    assert refused.value.message == (
        "no Entra ID token from the Azure CLI (az account get-access-token: "
        "ERROR: Please run az login to setup account.)"
    )
