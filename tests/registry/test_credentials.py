"""Where credentials come from, in which order, and that secrets never show."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from promoter.errors import ConfigError
from promoter.registry.access.credentials import Credential
from promoter.registry.access.dockerconfig import config_path
from promoter.registry.access.keychain import DefaultCredentials, host_env_prefix
from promoter.registry.access.options import RegistryConfig


def _config(tmp_path: Path, document: dict[str, object]) -> dict[str, str]:
    (tmp_path / "config.json").write_text(json.dumps(document))
    return {"DOCKER_CONFIG": str(tmp_path)}


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_precedence_host_env_then_global_env_then_docker_config(tmp_path: Path) -> None:
    environ = _config(tmp_path, {"auths": {"reg.example:5000": {"auth": _auth("cfg", "c")}}})
    assert DefaultCredentials(environ=environ).get("reg.example:5000") == Credential(
        "cfg", "c", source=f"docker config {tmp_path / 'config.json'} (auths)"
    )
    environ.update({"PROMOTER_REGISTRY_USERNAME": "glob", "PROMOTER_REGISTRY_PASSWORD": "g"})
    found = DefaultCredentials(environ=environ).get("reg.example:5000")
    assert found is not None and found.username == "glob"
    prefix = host_env_prefix("reg.example:5000")
    assert prefix == "PROMOTER_REGISTRY_REG_EXAMPLE_5000_"
    environ.update({prefix + "USERNAME": "host", prefix + "PASSWORD": "h"})
    found = DefaultCredentials(environ=environ).get("reg.example:5000")
    assert found is not None and found.username == "host"
    assert found.source == f"environment {prefix}USERNAME/{prefix}PASSWORD"


def test_docker_hub_key_and_scheme_prefixed_keys(tmp_path: Path) -> None:
    environ = _config(
        tmp_path,
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": _auth("hub", "x")},
                "https://other.example": {"identitytoken": "tok"},
            }
        },
    )
    hub = DefaultCredentials(environ=environ).get("docker.io")
    assert hub is not None and hub.username == "hub"
    other = DefaultCredentials(environ=environ).get("other.example")
    assert other is not None and other.identity_token == "tok"
    assert DefaultCredentials(environ=environ).get("nowhere.example") is None


def test_github_token_for_ghcr(tmp_path: Path) -> None:
    environ = {"GITHUB_TOKEN": "ghs_secret", "GITHUB_ACTOR": "octo", "DOCKER_CONFIG": str(tmp_path)}
    found = DefaultCredentials(environ=environ).get("ghcr.io")
    assert found is not None and found.username == "octo"
    assert found.source == "environment GITHUB_TOKEN"
    assert DefaultCredentials(environ=environ).get("other.example") is None
    kinds = {"gh.example": RegistryConfig("gh.example", auth="github")}
    assert DefaultCredentials(environ=environ, registries=kinds).get("gh.example") is not None


def test_secrets_absent_from_repr_and_str() -> None:
    credential = Credential("u", "p-secret", identity_token="t-secret", source="test")
    for text in (repr(credential), str(credential)):
        assert "p-secret" not in text and "t-secret" not in text
    assert credential.secrets == ("p-secret", "t-secret")


def test_broken_docker_config_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError) as caught:
        DefaultCredentials(environ={"DOCKER_CONFIG": str(tmp_path)}).get("reg.example")
    assert str(tmp_path / "config.json") in caught.value.message


def test_config_path_defaults_to_home() -> None:
    assert config_path({"HOME": "/home/x"}) == Path("/home/x/.docker/config.json")
    assert config_path({"DOCKER_CONFIG": "/etc/d"}) == Path("/etc/d/config.json")


def test_azure_sources() -> None:
    import importlib.util

    from promoter.errors import AuthError
    from promoter.registry.access.azure import _default_entra_token

    kinds = {"acr.example": RegistryConfig("acr.example", auth="azure")}
    environ = {"PROMOTER_AZURE_ACCESS_TOKEN": "entra-secret"}
    found = DefaultCredentials(environ=environ, registries=kinds).get("acr.example")
    assert found is not None and found.identity_token_factory is not None
    assert "PROMOTER_AZURE_ACCESS_TOKEN" in found.source
    assert "entra-secret" not in repr(found) + found.source
    if importlib.util.find_spec("azure") is None:
        with pytest.raises(AuthError) as caught:
            _default_entra_token()
        assert "promoter[azure]" in (caught.value.hint or "")
