"""Authentication against real registries: TLS + htpasswd, and token auth.

Secrets used here are random per run, and every test that fails on purpose
asserts that no secret appears in the error.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from promoter.cli.main import exit_code_for
from promoter.errors import AuthError, NetworkError, PromoterError, RegistryError
from promoter.oci import Reference
from promoter.registry import RegistryClient, RegistryConfig, RegistryOptions
from promoter.registry.access.keychain import DefaultCredentials, host_env_prefix
from promoter.registry.access.retry import RetryPolicy
from tests.support.images import make_image
from tests.support.oci_store import push_with_client
from tests.support.registry import Registry
from tests.support.tls import HTPASSWD_PASSWORD, HTPASSWD_USER, TlsFiles
from tests.support.token_server import TokenServer

USER, PASSWORD = HTPASSWD_USER, HTPASSWD_PASSWORD


def _docker_config(directory: Path, document: dict[str, object]) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(document))
    return {"DOCKER_CONFIG": str(directory), "PATH": os.environ.get("PATH", "")}


def _client(host: str, environ: dict[str, str], **options: object) -> RegistryClient:
    credentials = DefaultCredentials(environ=environ, **options.pop("cred_options", {}))  # type: ignore[arg-type]
    return RegistryClient(host, RegistryOptions(credentials=credentials, **options))  # type: ignore[arg-type]


def _round_trip(client: RegistryClient, repository: str, seed: str) -> None:
    image = make_image(seed=seed)
    push_with_client(client, image, repository, "v1")
    fetched = client.get_manifest(Reference(client.host, repository, "v1"))
    assert fetched.raw == image.manifest_bytes


def _assert_no_secret(error: PromoterError, *secret_values: str) -> None:
    text = json.dumps(error.to_dict()) + str(error) + repr(error)
    for value in secret_values:
        assert value not in text


# -- TLS + htpasswd ---------------------------------------------------------


def test_tls_htpasswd_with_docker_config_auths(
    htpasswd_registry: Registry, tls: TlsFiles, tmp_path: Path
) -> None:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    environ = _docker_config(
        tmp_path / "docker", {"auths": {htpasswd_registry.host: {"auth": auth}}}
    )
    with _client(htpasswd_registry.host, environ, ca_file=tls.ca) as client:
        assert client.ping() == f"https://{htpasswd_registry.host}"
        _round_trip(client, "tls/app", "tls")


def test_untrusted_certificate_is_not_downgraded(htpasswd_registry: Registry) -> None:
    with _client(htpasswd_registry.host, {}) as client, pytest.raises(NetworkError) as caught:
        client.ping()
    assert "certificate not trusted" in caught.value.message
    assert "--ca-file" in (caught.value.hint or "")


def test_insecure_registry_skips_verification(htpasswd_registry: Registry, tmp_path: Path) -> None:
    environ = {host_env_prefix(htpasswd_registry.host) + "USERNAME": USER}
    environ[host_env_prefix(htpasswd_registry.host) + "PASSWORD"] = PASSWORD
    options = RegistryOptions.from_environment(
        insecure_registries=[htpasswd_registry.host],
        credentials=DefaultCredentials(environ=environ),
    )
    with RegistryClient(htpasswd_registry.host, options) as client:
        _round_trip(client, "insecure/app", "insecure")


def test_wrong_password_names_the_source_not_the_secret(
    htpasswd_registry: Registry, tls: TlsFiles
) -> None:
    wrong = "wrong-" + secrets.token_hex(8)
    environ = {"PROMOTER_REGISTRY_USERNAME": USER, "PROMOTER_REGISTRY_PASSWORD": wrong}
    client = _client(htpasswd_registry.host, environ, ca_file=tls.ca)
    with client, pytest.raises(AuthError) as caught:
        client.list_tags("any/repo")
    assert caught.value.status == 401
    assert "PROMOTER_REGISTRY_USERNAME/PROMOTER_REGISTRY_PASSWORD" in (caught.value.detail or "")
    _assert_no_secret(caught.value, wrong, PASSWORD)


def test_anonymous_is_refused_clearly(htpasswd_registry: Registry, tls: TlsFiles) -> None:
    client = _client(htpasswd_registry.host, {}, ca_file=tls.ca)
    with client, pytest.raises(AuthError) as caught:
        client.get_manifest(Reference(htpasswd_registry.host, "x/y", "v1"))
    assert "anonymous" in (caught.value.detail or "")
    assert caught.value.reference == f"{htpasswd_registry.host}/x/y:v1"


def _write_helper(bin_dir: Path, name: str, host: str, log: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    answer = json.dumps({"ServerURL": host, "Username": USER, "Secret": PASSWORD})
    script.write_text(
        "#!/bin/sh\n"
        f'echo "argv: $*" >> {log}\n'
        "read -r server\n"
        f'echo "server: $server" >> {log}\n'
        f'if [ "$1" = get ] && [ "$server" = "{host}" ]; then\n'
        f"  echo '{answer}'\n"
        "else\n"
        "  echo 'credentials not found in native keychain'; exit 1\n"
        "fi\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.mark.parametrize("key", ["credHelpers", "credsStore"])
def test_credential_helper_protocol(
    htpasswd_registry: Registry, tls: TlsFiles, tmp_path: Path, key: str
) -> None:
    log = tmp_path / "helper.log"
    _write_helper(tmp_path / "bin", "test", htpasswd_registry.host, log)
    config: dict[str, object] = (
        {"credHelpers": {htpasswd_registry.host: "test"}}
        if key == "credHelpers"
        else {"credsStore": "test", "auths": {}}
    )
    environ = _docker_config(tmp_path / "docker", config)
    environ["PATH"] = f"{tmp_path / 'bin'}:{environ['PATH']}"
    with _client(htpasswd_registry.host, environ, ca_file=tls.ca) as client:
        _round_trip(client, f"helper/{key.lower()}", key)
    logged = log.read_text()
    assert "argv: get" in logged
    assert f"server: {htpasswd_registry.host}" in logged
    assert PASSWORD not in logged  # the secret is never on the helper's argv


def test_missing_helper_is_an_auth_error(htpasswd_registry: Registry, tmp_path: Path) -> None:
    environ = _docker_config(tmp_path / "docker", {"credsStore": "absent-helper"})
    with pytest.raises(AuthError, match="docker-credential-absent-helper not found"):
        DefaultCredentials(environ=environ).get(htpasswd_registry.host)


# -- token auth ---------------------------------------------------------------


def test_bearer_tokens_are_cached_per_scope(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(token=token_server.token_auth_config())
    environ = {"PROMOTER_REGISTRY_USERNAME": USER, "PROMOTER_REGISTRY_PASSWORD": PASSWORD}
    with _client(registry.host, environ) as client:
        _round_trip(client, "tok/app", "tok")
        _round_trip(client, "tok/app", "tok2")
        assert client.list_tags("tok/app") == ["v1"]
    scope_sets = {r.scopes for r in token_server.requests}
    assert ("repository:tok/app:pull,push",) in scope_sets
    assert len(token_server.requests) == len(scope_sets)  # one token per scope set
    assert all(r.authorized_as == USER for r in token_server.requests)


def test_mount_asks_pull_on_the_source_and_push_on_the_destination(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(token=token_server.token_auth_config())
    environ = {"PROMOTER_REGISTRY_USERNAME": USER, "PROMOTER_REGISTRY_PASSWORD": PASSWORD}
    image = make_image(seed="tokmount")
    with _client(registry.host, environ) as client:
        _round_trip(client, "tok/src", "tokmount")
        config = image.config_digest
        assert config is not None
        before = client.transport.stats.bytes_uploaded
        assert client.mount_blob("tok/dst", config, "tok/src")
        assert client.transport.stats.bytes_uploaded == before
    assert ("repository:tok/dst:pull,push", "repository:tok/src:pull") in {
        r.scopes for r in token_server.requests
    }


def test_reader_cannot_push(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(token=token_server.token_auth_config())
    environ = {"PROMOTER_REGISTRY_USERNAME": "reader", "PROMOTER_REGISTRY_PASSWORD": "r-pass"}
    with _client(registry.host, environ) as client, pytest.raises(AuthError) as caught:
        client.upload_blob("tok/ro", "sha256:" + "1" * 64, 1, b"x")
    assert caught.value.status == 401
    _assert_no_secret(caught.value, "r-pass")


def test_identity_token_uses_the_refresh_grant(
    registry_factory: Callable[..., Registry], token_server: TokenServer, tmp_path: Path
) -> None:
    token_server.header_mode = "x5c"  # distribution also accepts an x5c chain
    registry = registry_factory(token=token_server.token_auth_config())
    refresh = "refresh-" + secrets.token_hex(8)
    token_server.refresh_tokens[refresh] = USER
    environ = _docker_config(
        tmp_path / "docker", {"auths": {registry.host: {"auth": "", "identitytoken": refresh}}}
    )
    with _client(registry.host, environ) as client:
        _round_trip(client, "tok/identity", "identity")
    assert {r.method for r in token_server.requests} == {"POST"}
    assert all("refresh_token" in r.params for r in token_server.requests)


def _azure_client(
    registry_factory: Callable[..., Registry],
    token_server: TokenServer,
    entra: str,
    **config: str,
) -> RegistryClient:
    """A client of a token-auth registry with ``auth: azure`` (``config``: tenant, client_id)
    and ``entra`` as the Entra ID token to exchange at the token server."""
    registry = registry_factory(
        token=token_server.token_auth_config(realm=f"{token_server.url}/oauth2/token")
    )
    settings = RegistryConfig(registry.host, auth="azure", **config)  # type: ignore[arg-type]
    credentials = DefaultCredentials(
        environ={}, registries={registry.host: settings}, azure_token=lambda: entra
    )
    return RegistryClient(registry.host, RegistryOptions(credentials=credentials))


def test_azure_exchange(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    entra = token_server.entra_token
    assert entra is not None
    with _azure_client(registry_factory, token_server, entra, tenant="tenant-1") as client:
        _round_trip(client, "acr/app", "acr")
    paths = [r.path for r in token_server.requests]
    assert paths.count("/oauth2/exchange") == 1
    exchange = next(r for r in token_server.requests if r.path == "/oauth2/exchange")
    assert "tenant" in exchange.params  # the pipeline's tenant
    assert "/oauth2/token" in paths


def test_azure_refused_entra_token(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    bad = "bad-entra-" + secrets.token_hex(8)
    with (
        _azure_client(registry_factory, token_server, bad) as client,
        pytest.raises(AuthError) as caught,
    ):
        client.list_tags("acr/app")
    assert "/oauth2/exchange" in caught.value.message
    assert "Azure Entra ID" in (caught.value.detail or "")
    _assert_no_secret(caught.value, bad)


def test_pipeline_registry_config_marks_insecure() -> None:
    options = RegistryOptions.from_environment(
        registries=[RegistryConfig("Reg.Example:5000", insecure=True)],
        environ={"PROMOTER_INSECURE_REGISTRIES": "a.example, b.example:443"},
    )
    assert options.is_insecure("reg.example:5000")
    assert options.is_insecure("a.example")
    assert options.is_insecure("b.example:443")
    assert not options.is_insecure("c.example")


def test_expired_tokens_are_refreshed(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    import time

    token_server.lifetime = 2  # cached until 90% of its lifetime
    registry = registry_factory(token=token_server.token_auth_config())
    environ = {"PROMOTER_REGISTRY_USERNAME": USER, "PROMOTER_REGISTRY_PASSWORD": PASSWORD}
    with _client(registry.host, environ) as client:
        client.list_tags("tok/expiry")
        client.list_tags("tok/expiry")
        assert len(token_server.requests) == 1
        time.sleep(2)
        client.list_tags("tok/expiry")
        assert len(token_server.requests) == 2


def test_helper_token_answer_is_an_identity_token(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-tok"
    script.write_text(
        "#!/bin/sh\nread -r server\n"
        'echo \'{"ServerURL": "reg.example", "Username": "<token>", "Secret": "id-secret"}\'\n'
    )
    script.chmod(0o755)
    environ = _docker_config(tmp_path / "docker", {"credHelpers": {"reg.example": "tok"}})
    environ["PATH"] = f"{bin_dir}:{environ['PATH']}"
    found = DefaultCredentials(environ=environ).get("reg.example")
    assert found is not None
    assert found.identity_token == "id-secret" and found.password is None
    assert "docker-credential-tok" in found.source
    assert "id-secret" not in repr(found)


def test_azure_credential_can_be_materialised_for_other_tools(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    entra = token_server.entra_token
    assert entra is not None
    with _azure_client(registry_factory, token_server, entra) as client:
        credential = client.credential()
    assert credential is not None and credential.identity_token in token_server.refresh_tokens
    assert credential.username == "00000000-0000-0000-0000-000000000000"


def test_parallel_requests_share_one_token_request(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    registry = registry_factory(token=token_server.token_auth_config())
    environ = {"PROMOTER_REGISTRY_USERNAME": USER, "PROMOTER_REGISTRY_PASSWORD": PASSWORD}
    with _client(registry.host, environ) as client, ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda i: client.blob_exists("tok/par", f"sha256:{i:064x}"), range(16))
        )
    assert answers == [False] * 16
    assert len(token_server.requests) == 1


# -- the token request rides the transport stack ------------------------------

_LOGIN = {"PROMOTER_REGISTRY_USERNAME": USER, "PROMOTER_REGISTRY_PASSWORD": PASSWORD}


def test_a_busy_token_endpoint_is_asked_again(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(token=token_server.token_auth_config())
    token_server.failures = 1  # one 503 (Retry-After: 0), then tokens
    with _client(registry.host, _LOGIN) as client:
        assert client.list_tags("tok/busy") == []
        stats = client.transport.token_stats
    assert len(token_server.requests) == 2
    assert stats.requests == 2 and stats.retries == 1


def test_a_token_endpoint_that_stays_down_is_unavailable_not_refused(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(token=token_server.token_auth_config())
    token_server.failures = -1  # every answer a 503
    policy = RetryPolicy(max_attempts=3, base_delay=0.01)
    with (
        _client(registry.host, _LOGIN, retry=policy) as client,
        pytest.raises(RegistryError) as caught,
    ):
        client.list_tags("tok/down")
    error = caught.value
    assert not isinstance(error, AuthError)
    assert "token endpoint" in error.message and "unavailable (HTTP 503)" in error.message
    assert "refused" not in error.message
    assert error.status == 503 and exit_code_for(error) == 3
    assert len(token_server.requests) == policy.max_attempts  # the retry table's attempts
    _assert_no_secret(error, PASSWORD)


def test_a_token_endpoint_that_refuses_says_refused_and_is_not_asked_again(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(token=token_server.token_auth_config())
    wrong = "wrong-" + secrets.token_hex(8)
    environ = {"PROMOTER_REGISTRY_USERNAME": USER, "PROMOTER_REGISTRY_PASSWORD": wrong}
    with _client(registry.host, environ) as client, pytest.raises(AuthError) as caught:
        client.list_tags("tok/refused")
    error = caught.value
    assert "the token endpoint refused the credentials (HTTP 401)" in error.message
    assert error.detail is not None and "PROMOTER_REGISTRY_" in error.detail
    assert len(token_server.requests) == 1  # a 401 is not in the retry table
    _assert_no_secret(error, wrong)


def test_another_token_answer_is_said_as_it_is(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(token=token_server.token_auth_config())
    token_server.failures, token_server.failure_status = -1, 400
    with _client(registry.host, _LOGIN) as client, pytest.raises(RegistryError) as caught:
        client.list_tags("tok/odd")
    error = caught.value
    assert not isinstance(error, AuthError)
    assert "answered HTTP 400 (UNAVAILABLE)" in error.message
    assert len(token_server.requests) == 1


def test_a_realm_query_is_kept_beside_the_scopes(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(
        token=token_server.token_auth_config(realm=f"{token_server.realm}?account=promoter")
    )
    with _client(registry.host, _LOGIN) as client:
        assert client.list_tags("tok/query") == []
    (request,) = token_server.requests
    assert request.params == ("account", "scope", "service")
    assert request.scopes == ("repository:tok/query:pull",)


def test_the_token_request_keeps_the_registry_pace(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    """At 2 requests a second, the token request waits its turn after the request before
    it, and the request it is for waits its turn after it."""
    registry = registry_factory(token=token_server.token_auth_config())
    with _client(registry.host, _LOGIN, requests_per_second=2) as client:
        client.transport.base_url()  # the ping (paced too) learns the bearer challenge
        time.sleep(1.0)  # its turn is past: the next request goes at once
        started = time.monotonic()
        with client.transport.slot("GET"):  # one request's turn, taken now
            pass
        assert client.list_tags("tok/paced") == []  # a token request, then the tag list
        done = time.monotonic()
    (request,) = token_server.requests
    spacing = 1 / 2
    assert request.at - started >= 0.9 * spacing
    assert done - request.at >= 0.9 * spacing


def test_a_stalled_token_endpoint_fails_within_the_exchange_deadline(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    registry = registry_factory(token=token_server.token_auth_config())
    token_server.stall = 5.0
    with _client(registry.host, _LOGIN, exchange_deadline=1.0) as client:
        client.transport.base_url()
        started = time.monotonic()
        with pytest.raises(NetworkError) as caught:
            client.list_tags("tok/stalled")
        took = time.monotonic() - started
    assert took < 2.5
    assert "get token from" in caught.value.message
    assert "no complete answer within 1 s" in caught.value.message
    assert len(token_server.requests) == 1  # a spent deadline is not retried
