"""Every failure is one line (and one JSON document), and --debug works on either side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.config.cli_runner import run_in_process


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
