"""``--timeout SECONDS`` on every command and subcommand: a positive number, else exit 2.

It is a value of the run's settings, over ``PROMOTER_TIMEOUT`` (the registry layer
reads the settings); the process environment is never written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from promoter.cli.main import ENV_TIMEOUT, cli
from promoter.cli.parsing import Command, Group
from promoter.cli.state import CliState
from tests.config.cli_runner import ROOT, run_in_process


def _commands(
    command: Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Command]]:
    yield path, command
    if isinstance(command, Group):  # the top group loads its commands when asked
        for name in command.names:
            sub = command.get(name)
            assert sub is not None, name
            yield from _commands(sub, (*path, name))


@pytest.mark.parametrize(
    "path", [p for p, _ in _commands(cli)], ids=lambda p: " ".join(p) or "promoter"
)
def test_every_command_takes_timeout(path: tuple[str, ...]) -> None:
    command: Command = cli
    for name in path:
        assert isinstance(command, Group)
        found = command.get(name)
        assert found is not None
        command = found
    assert "--timeout" in {flag for option in command.options() for flag in option.flags}


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf", ""])
def test_a_timeout_that_is_not_a_positive_number_is_exit_2(value: str) -> None:
    outcome = run_in_process(["validate", "--timeout", value, "-f", "nope.yml"])
    assert outcome.code == 2
    assert "is not a positive number of seconds" in outcome.stderr


def test_timeout_is_a_setting_of_the_run_and_the_environment_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--timeout goes into the run's settings (over PROMOTER_TIMEOUT); nothing is written to
    the process environment, so nothing needs restoring for a caller of main()."""
    import promoter.cli.main as cli_main

    seen: list[str | None] = []
    real = cli_main._run

    def spy(args: list[str], state: CliState) -> int:
        code = real(args, state)
        seen.append(state.settings().timeout)
        return code

    monkeypatch.setattr(cli_main, "_run", spy)
    pipeline = str(ROOT / "examples" / "quickstart" / "pipeline.yml")
    monkeypatch.delenv(ENV_TIMEOUT, raising=False)
    before = dict(os.environ)
    outcome = run_in_process(["validate", "--timeout", "2.5", "-f", pipeline])
    assert outcome.code == 0, outcome
    assert seen == ["2.5"]
    assert dict(os.environ) == before
    outcome = run_in_process(["--timeout", "7", "validate", "-f", pipeline])
    assert outcome.code == 0 and seen[-1] == "7"
    monkeypatch.setenv(ENV_TIMEOUT, "9")
    outcome = run_in_process(["validate", "-f", pipeline])
    assert outcome.code == 0 and seen[-1] == "9"
    outcome = run_in_process(["validate", "--timeout", "3", "-f", pipeline])
    assert outcome.code == 0 and seen[-1] == "3"  # the flag over the variable
    assert os.environ[ENV_TIMEOUT] == "9"
