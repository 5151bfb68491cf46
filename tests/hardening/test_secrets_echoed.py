"""A registry that repeats the request's Authorization header cannot make promoter show it."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from promoter.redaction import redact
from tests.support.cli import isolated_env, run_cli
from tests.support.hostile_registry import HostileRegistry

USER, PASSWORD = "robot", "echo-me-if-you-can-7f3a"


@pytest.mark.parametrize("service", ["github", "azure-devops", "none"])
def test_an_echoed_credential_is_scrubbed_everywhere(service: str, tmp_path: Path) -> None:
    with HostileRegistry(auth=True) as hostile:
        prefix = "PROMOTER_REGISTRY_" + re.sub(r"[^A-Za-z0-9]", "_", hostile.host).upper()
        temp = tmp_path / "temp"
        temp.mkdir()
        env = isolated_env(tmp_path, {
            f"{prefix}_USERNAME": USER, f"{prefix}_PASSWORD": PASSWORD,
            "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
            "RUNNER_TEMP": str(temp), "AGENT_TEMPDIRECTORY": str(temp),
        })  # fmt: skip
        done = run_cli(
            ["--ci", service, "--debug", "inspect", f"{hostile.host}/lie/echo-auth:latest",
             "--insecure-registry", hostile.host, "--output", "json"],
            cwd=tmp_path, env=env, timeout=60,
        )  # fmt: skip
        sent = [auth for _, _, auth in hostile.requests if auth]
    assert sent, "the registry was sent the credential"
    assert done.returncode == 3
    assert "DENIED" in done.stderr or "denied" in done.stderr
    header = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    masks = ("::add-mask::", "##vso[task.setsecret]")
    written = [done.stdout, *(x for x in done.stderr.splitlines() if not x.startswith(masks))]
    written += [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    for text in written:
        assert PASSWORD not in text
        assert header not in text
    assert "Basic ***" in done.stderr  # the registry's words, with the credential cut out


def test_credentials_of_any_origin_are_cut() -> None:
    assert redact("Authorization: Basic dXNlcjpwYXNzd29yZA==") == "Authorization: Basic ***"
    assert redact("sent Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln") == "sent Bearer ***"
    for words in ("Basic authentication required", "bearer challenge without a realm",
                  'WWW-Authenticate: Bearer realm="https://r/token",service="r"'):  # fmt: skip
        assert redact(words) == words
