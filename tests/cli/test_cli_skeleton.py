"""The CLI skeleton: exit codes, --version, pending commands, usage errors."""

from __future__ import annotations

import pytest

from promoter import __version__
from tests.support.cli import run_cli


def test_version() -> None:
    result = run_cli(["--version"])
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_help_lists_every_command() -> None:
    result = run_cli(["--help"])
    assert result.returncode == 0
    for name in ("validate", "plan", "run", "apply", "copy", "check", "inspect", "tags", "schema"):
        assert f"  {name}" in result.stdout


def test_unknown_option_is_bad_input() -> None:
    result = run_cli(["validate", "--no-such-option"])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stage", ["deploy", ""])
def test_unknown_stage_is_bad_input(stage: str) -> None:
    result = run_cli(["run", "--stage", stage])
    assert result.returncode == 2
    assert "stage" in result.stderr
