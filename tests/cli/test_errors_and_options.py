"""Every failure is one line (and one JSON document), and --debug works on either side."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.config.cli_runner import run_in_process
from tests.support.cli import run_cli


def test_an_internal_error_is_one_line_and_one_document(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import promoter.config

    def broken(_path: str) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(promoter.config, "load_pipeline", broken)
    outcome = run_in_process(["validate", "-f", str(tmp_path / "p.yml"), "--output", "json"])
    assert outcome.code == 3
    assert outcome.first_error_line == "error: internal error: RuntimeError: boom"
    document = json.loads(outcome.stdout)
    assert document["ok"] is False and document["exitCode"] == 3
    assert document["error"]["message"] == "internal error: RuntimeError: boom"
    assert "Traceback" not in outcome.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_command(where: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yml")
    args = (
        ["--debug", "validate", "-f", missing]
        if where == "before"
        else ["validate", "-f", missing, "--debug"]
    )
    outcome = run_in_process(args)
    assert outcome.code == 2
    assert "Traceback (most recent call last)" in outcome.stderr


@pytest.mark.parametrize(
    ("option", "variable", "shown"),
    [
        (["--max-rps", "myregistry.azurecr.io"], None, "--max-rps 'myregistry.azurecr.io'"),
        (["--max-rps", "a b=3"], None, "--max-rps 'a b=3'"),
        (["--max-rps=reg.example=0"], None, "--max-rps 'reg.example=0'"),
        (["--max-rps", "reg.example=nan"], None, "--max-rps 'reg.example=nan'"),
        ([], "reg.example=-5", "PROMOTER_MAX_RPS 'reg.example=-5'"),
        ([], "reg.example=5,=7", "PROMOTER_MAX_RPS '=7'"),
    ],
)
def test_a_bad_request_rate_is_one_line_before_any_request(
    option: list[str], variable: str | None, shown: str
) -> None:
    """A bad ``--max-rps`` or ``PROMOTER_MAX_RPS`` is exit 2 with the entry and an example;
    the copy's registry (port 1: nothing listens) is never asked."""
    env = {k: v for k, v in os.environ.items() if k != "PROMOTER_MAX_RPS"}
    if variable is not None:
        env["PROMOTER_MAX_RPS"] = variable
    done = run_cli(["copy", *option, "127.0.0.1:1/a:1", "127.0.0.1:1/b:1"], env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == (
        f"error: {shown}: expected HOST=N, N requests per second above 0 and at most 100000"
    )
    assert lines[1].startswith("hint: like ") and lines[1].endswith("myregistry.azurecr.io=50")
    assert len(lines) == 2 and "connect" not in done.stderr.lower()
