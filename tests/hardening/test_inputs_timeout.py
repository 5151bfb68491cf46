"""``--timeout SECONDS`` on every command and subcommand: a positive number, else exit 2.

It sets ``PROMOTER_TIMEOUT`` for the process (the registry layer reads it);
a caller running ``main()`` in its own process gets its environment back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from promoter.cli.main import ENV_TIMEOUT, cli
from tests.config.cli_runner import ROOT, run_in_process


def _commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):  # the top group loads its commands when asked
        context = click.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, name
            yield from _commands(sub, (*path, name))


@pytest.mark.parametrize(
    "path", [p for p, _ in _commands(cli)], ids=lambda p: " ".join(p) or "promoter"
)
def test_every_command_takes_timeout(path: tuple[str, ...]) -> None:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    assert "--timeout" in {opt for param in command.params for opt in param.opts}


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf", ""])
def test_a_timeout_that_is_not_a_positive_number_is_exit_2(value: str) -> None:
    outcome = run_in_process(["validate", "--timeout", value, "-f", "nope.yml"])
    assert outcome.code == 2
    assert "is not a positive number of seconds" in outcome.stderr


def test_timeout_sets_the_variable_for_the_command_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_TIMEOUT, raising=False)
    seen: list[str | None] = []
    import promoter.config.loader as loader

    real = loader.load_pipeline

    def spy(file: str | os.PathLike[str]):  # type: ignore[no-untyped-def]
        seen.append(os.environ.get(ENV_TIMEOUT))
        return real(file)

    monkeypatch.setattr(loader, "load_pipeline", spy)
    pipeline = str(ROOT / "examples" / "quickstart" / "pipeline.yml")
    outcome = run_in_process(["validate", "--timeout", "2.5", "-f", pipeline])
    assert outcome.code == 0, outcome
    assert seen == ["2.5"]
    assert ENV_TIMEOUT not in os.environ
    outcome = run_in_process(["--timeout", "7", "validate", "-f", pipeline])
    assert outcome.code == 0 and seen[-1] == "7"
