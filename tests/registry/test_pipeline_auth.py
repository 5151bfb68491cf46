"""What pipeline.yml says about a registry reaches the client: ``auth`` with the
variables it names (``basic``, ``token``, ``github``), its own Docker config,
and the registry's ``ca_file``. Against real registries (TLS +
htpasswd, and token auth behind the test token server); no secret in any output.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from promoter.config import load_pipeline
from promoter.errors import ConfigError
from promoter.oci import Reference
from promoter.pipeline.settings import registry_hosts, registry_options
from promoter.registry import RegistryClient, RegistryConfig, RegistryOptions
from promoter.registry.access.keychain import DefaultCredentials, host_env_prefix
from tests.support.cli import run_isolated
from tests.support.images import make_image
from tests.support.oci_store import push_with_client
from tests.support.registry import Registry
from tests.support.tls import HTPASSWD_PASSWORD, HTPASSWD_USER, TlsFiles
from tests.support.token_server import TokenServer

pytestmark = pytest.mark.registry

USER, PASSWORD = HTPASSWD_USER, HTPASSWD_PASSWORD


def _pipeline(directory: Path, host: str, auth: str, extra: str = "") -> Path:
    """A one-image pipeline whose only registry is ``host`` with ``auth`` (YAML, indented)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app").mkdir(exist_ok=True)
    (directory / "app" / "Dockerfile").write_text("FROM scratch\n")
    path = directory / "pipeline.yml"
    path.write_text(
        "version: 1\n"
        "registries:\n"
        "  stage:\n"
        f"    host: '{host}'\n"
        f"{extra}"
        f"    auth:\n{auth}"
        "images:\n"
        "  app:\n"
        "    build: {context: app}\n"
        "    staging: stage/auth/app\n"
        "policies:\n"
        "  - rule: non-root\n"
    )
    return path


def _seed(host: str, ca: str, repository: str) -> str:
    """Push a non-root image with a credential from outside the pipeline; its digest."""
    image = make_image(seed="pipeline-auth", user="app")
    env = {host_env_prefix(host) + "USERNAME": USER, host_env_prefix(host) + "PASSWORD": PASSWORD}
    options = RegistryOptions(ca_file=ca, credentials=DefaultCredentials(environ=env))
    with RegistryClient(host, options) as client:
        return push_with_client(client, image, repository, "v1")


def test_basic_auth_and_ca_file_from_the_pipeline(
    htpasswd_registry: Registry, tls: TlsFiles, tmp_path: Path
) -> None:
    """`promoter check -f` logs in with the variables the pipeline names and trusts
    the registry's own CA file: no --ca-file, no PROMOTER_REGISTRY_* variables."""
    digest = _seed(htpasswd_registry.host, tls.ca, "auth/app")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(tls.ca, work / "registry-ca.pem")
    _pipeline(
        work,
        htpasswd_registry.host,
        "      kind: basic\n      username_env: STAGE_USER\n      password_env: STAGE_PASS\n",
        extra="    ca_file: registry-ca.pem\n",
    )
    ref = f"{htpasswd_registry.host}/auth/app:v1"
    ok = run_isolated(["check", ref, "-f", "pipeline.yml", "-o", "json"],
                   {"STAGE_USER": USER, "STAGE_PASS": PASSWORD}, work)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True and digest.encode() in ok.stdout

    missing = run_isolated(["check", ref, "-f", "pipeline.yml"], {"STAGE_USER": USER}, work)
    assert missing.returncode == 2, missing.stderr
    lines = missing.stderr.decode().strip().splitlines()
    located = f"error: {(work / 'pipeline.yml').resolve()}:3:3: registries.stage.auth: "
    assert lines[0].startswith(located) and "$STAGE_PASS" in lines[0], lines
    assert b"Traceback" not in missing.stderr

    wrong = run_isolated(["check", ref, "-f", "pipeline.yml"],
                      {"STAGE_USER": USER, "STAGE_PASS": "not-" + PASSWORD}, work)  # fmt: skip
    assert wrong.returncode == 3, wrong.stderr
    assert b"STAGE_USER/STAGE_PASS" in wrong.stderr  # the source tried, by name
    for done in (ok, missing, wrong):
        assert PASSWORD.encode() not in done.stdout + done.stderr


def test_plan_file_keeps_names_and_paths_never_secrets(tmp_path: Path) -> None:
    host = "reg.example:5000"
    (tmp_path / "ca.pem").write_text("")
    path = _pipeline(
        tmp_path,
        host,
        "      kind: basic\n      username_env: STAGE_USER\n      password_env: STAGE_PASS\n",
        extra="    ca_file: ca.pem\n",
    )
    hosts = registry_hosts(load_pipeline(path))
    where = {"file": str(path.resolve()), "line": 3, "column": 3}  # the key `stage:`
    assert hosts[host] == {
        "alias": "stage",
        "insecure": False,
        "auth": "basic",
        "usernameEnv": "STAGE_USER",
        "passwordEnv": "STAGE_PASS",
        "caFile": str(tmp_path / "ca.pem"),
        **where,
    }
    # What apply reads back from a plan file is what the pipeline said.
    config = registry_options(json.loads(json.dumps(hosts))).config_for(host)
    assert config == RegistryConfig(
        host,
        auth="basic",
        username_env="STAGE_USER",
        password_env="STAGE_PASS",
        ca_file=str(tmp_path / "ca.pem"),
        alias="stage",
        **where,  # type: ignore[arg-type]
    )


def test_token_kind_is_an_identity_token(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(token=token_server.token_auth_config())
    refresh = "refresh-" + secrets.token_hex(8)
    token_server.refresh_tokens[refresh] = USER
    config = RegistryConfig(registry.host, auth="token", token_env="REG_TOKEN")
    credentials = DefaultCredentials(
        environ={"REG_TOKEN": refresh}, registries={registry.host: config}
    )
    with RegistryClient(registry.host, RegistryOptions(credentials=credentials)) as client:
        image = make_image(seed="token-kind")
        push_with_client(client, image, "tok/app", "v1")
        assert (
            client.get_manifest(Reference(registry.host, "tok/app", "v1")).raw
            == image.manifest_bytes
        )
    token_requests = [r for r in token_server.requests if r.path != "/oauth2/exchange"]
    assert token_requests and all("refresh_token" in r.params for r in token_requests)


def test_docker_config_of_the_pipeline(
    htpasswd_registry: Registry, tls: TlsFiles, tmp_path: Path
) -> None:
    own = tmp_path / "ci-docker" / "config.json"
    own.parent.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    own.write_text(json.dumps({"auths": {htpasswd_registry.host: {"auth": auth}}}))
    config = RegistryConfig(htpasswd_registry.host, docker_config=str(own))
    environ = {"DOCKER_CONFIG": str(tmp_path / "empty")}  # the default one holds nothing
    credentials = DefaultCredentials(environ=environ, registries={htpasswd_registry.host: config})
    with RegistryClient(
        htpasswd_registry.host, RegistryOptions(ca_file=tls.ca, credentials=credentials)
    ) as client:
        assert client.list_tags("none/yet") == []
        credential = client.credential()
        assert credential is not None and str(own) in credential.source


def test_which_credential_wins() -> None:
    host = "reg.example:5000"
    per_host = host_env_prefix(host)
    config = RegistryConfig(host, auth="basic", username_env="U", password_env="P")
    everything = {
        per_host + "USERNAME": "host-user",
        per_host + "PASSWORD": "host-pw",
        "U": "named-user",
        "P": "named-pw",
        "PROMOTER_REGISTRY_USERNAME": "global-user",
        "PROMOTER_REGISTRY_PASSWORD": "global-pw",
    }

    def user(environ: dict[str, str]) -> str | None:
        found = DefaultCredentials(environ=environ, registries={host: config}).get(host)
        return None if found is None else found.username

    assert user(everything) == "host-user"  # this host's own variables first
    without_host = {k: v for k, v in everything.items() if not k.startswith(per_host)}
    assert user(without_host) == "named-user"  # then what the pipeline names
    github = RegistryConfig(host, auth="github", token_env="GH_PAT", username_env="GH_USER")
    found = DefaultCredentials(
        environ={"GH_PAT": "pat-" + secrets.token_hex(4), "GH_USER": "octo"},
        registries={host: github},
    ).get(host)
    assert found is not None and (found.username, found.source) == ("octo", "environment GH_PAT")
    with pytest.raises(ConfigError) as caught:
        DefaultCredentials(environ={}, registries={host: github}).get(host)
    assert "$GH_PAT" in caught.value.message


def test_insecure_from_the_pipeline_and_the_environment(
    htpasswd_registry: Registry, tls: TlsFiles, tmp_path: Path
) -> None:
    """A registry whose certificate nobody trusts is reached when the pipeline says
    ``insecure: true``, or ``PROMOTER_INSECURE_REGISTRIES`` lists it; not otherwise."""
    _seed(htpasswd_registry.host, tls.ca, "auth/app")
    auth = "      kind: basic\n      username_env: STAGE_USER\n      password_env: STAGE_PASS\n"
    env = {"STAGE_USER": USER, "STAGE_PASS": PASSWORD}
    ref = f"{htpasswd_registry.host}/auth/app:v1"
    trusting = tmp_path / "trusting"
    _pipeline(trusting, htpasswd_registry.host, auth, extra="    insecure: true\n")
    assert run_isolated(["check", ref, "-f", "pipeline.yml"], env, trusting).returncode == 0

    strict = tmp_path / "strict"
    _pipeline(strict, htpasswd_registry.host, auth)
    refused = run_isolated(["check", ref, "-f", "pipeline.yml"], env, strict)
    assert refused.returncode == 3 and b"certificate" in refused.stderr
    listed = {**env, "PROMOTER_INSECURE_REGISTRIES": f"other.example, {htpasswd_registry.host}"}
    assert run_isolated(["check", ref, "-f", "pipeline.yml"], listed, strict).returncode == 0
