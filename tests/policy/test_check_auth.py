"""``promoter check`` as a process against a TLS registry with htpasswd auth: the CA from
--ca-file, the credential from the environment, and no password in any output."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import run_isolated
from tests.support.images import make_image
from tests.support.oci_store import push_with_client
from tests.support.registry import Registry
from tests.support.tls import make_tls, write_htpasswd

pytestmark = pytest.mark.registry


def test_check_through_tls_and_htpasswd(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    password = "pw-" + secrets.token_hex(10)
    tls = make_tls(tmp_path / "tls")
    secure = registry_factory(
        tls=tls.server, htpasswd=write_htpasswd(tmp_path / "htpasswd", {"bob": password})
    )
    image = make_image(seed="check-auth", user="app")
    env = {"PROMOTER_REGISTRY_USERNAME": "bob", "PROMOTER_REGISTRY_PASSWORD": password}
    from promoter.registry import RegistryClient, RegistryOptions
    from promoter.registry.access.keychain import DefaultCredentials

    options = RegistryOptions(ca_file=tls.ca, credentials=DefaultCredentials(environ=env))
    with RegistryClient(secure.host, options) as client:
        push_with_client(client, image, "policy/auth", "v1")
    (tmp_path / "policy.yml").write_text("policies:\n  - rule: non-root\n")
    ref = f"{secure.host}/policy/auth:v1"
    policy = ["--policy", "policy.yml"]
    ok = run_isolated(["check", ref, *policy, "--ca-file", tls.ca, "-o", "json"], env, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert b'"ok": true' in ok.stdout and image.digest.encode() in ok.stdout
    anonymous = run_isolated(["check", ref, *policy, "--ca-file", tls.ca], {}, tmp_path)
    assert anonymous.returncode == 3, anonymous.stderr
    assert anonymous.stderr.startswith(b"error: ") and b"Traceback" not in anonymous.stderr
    untrusted = run_isolated(["check", ref, *policy], env, tmp_path)
    assert untrusted.returncode == 3 and b"certificate" in untrusted.stderr
    for done in (ok, anonymous, untrusted):
        assert password.encode() not in done.stdout + done.stderr
