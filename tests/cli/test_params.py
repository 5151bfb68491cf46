"""The command line's own parser (``promoter.cli.params``): declarations, values, errors.

The first tests declare small commands and invoke them with a state of their own;
the last run ``promoter`` itself, in process, for what a user sees.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from promoter.cli.main import cli
from promoter.cli.params import HelpShown, UsageError, argument, file_path, int_range, option
from promoter.cli.parsing import Group, command, group
from promoter.cli.state import CliState
from tests.config.cli_runner import run_in_process

seen: list[dict[str, object]] = []
told: list[tuple[str, object]] = []


def _tell(name: str) -> Callable[[CliState, object], None]:
    return lambda _state, value: told.append((name, value))


@command()
@argument("source", metavar="SRC")
@argument("rest", metavar="MORE", required=False, many=True)
@option("--jobs", "-j", convert=int_range(1, 8), default=2, metavar="N", help="How many.")
@option("--tag", dest="tags", multiple=True, help="Repeatable.")
@option("--fast", flag=True, callback=_tell("fast"), help="A flag.")
@option("--mode", choices=("a", "b"), default="a", eager=True, callback=_tell("mode"), help="")
@option("--name", required=True, envvar="DEMO_NAME", help="Required, or DEMO_NAME.")
@option("--hidden", expose=False, callback=_tell("hidden"), help="Told, not passed.")
def demo(
    source: str,
    rest: tuple[str, ...],
    jobs: int,
    tags: tuple[str, ...],
    fast: bool,
    mode: str,
    name: str,
) -> int:
    """Demonstrate every kind of parameter.

    A second paragraph.
    """
    seen.append(dict(locals()))
    return 7


@group()
def tools() -> None:
    """A group of one."""


tools_demo = tools.command("demo")(demo.func)


def _state(**environ: str) -> CliState:
    return CliState(environ=dict(environ))


def test_values_reach_the_function_in_their_types() -> None:
    seen.clear()
    told.clear()
    args = ["src", "m1", "m2", "-j", "3", "--tag", "x", "--tag=y", "--fast", "--mode", "b"]
    assert demo.invoke([*args, "--name", "n", "--hidden", "h"], _state(), "demo") == 7
    assert seen[-1] == {
        "source": "src",
        "rest": ("m1", "m2"),
        "jobs": 3,
        "tags": ("x", "y"),
        "fast": True,
        "mode": "b",
        "name": "n",
    }
    # callbacks: the eager one first, then in the order declared; --hidden only told
    assert told == [("mode", "b"), ("fast", True), ("hidden", "h")]


def test_defaults_and_the_environment_of_the_invocation() -> None:
    seen.clear()
    demo.invoke(["src"], _state(DEMO_NAME="from-env"), "demo")
    assert seen[-1] == {
        "source": "src",
        "rest": (),
        "jobs": 2,
        "tags": (),
        "fast": False,
        "mode": "a",
        "name": "from-env",
    }
    demo.invoke(["src", "--name", "given"], _state(DEMO_NAME="from-env"), "demo")
    assert seen[-1]["name"] == "given"  # the command line wins


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["src"], "missing option '--name' (or DEMO_NAME)"),
        (["--name", "n"], "the following arguments are required: SRC"),
        (
            ["src", "--name", "n", "-j", "9"],
            "invalid value for '--jobs': 9 is not in the range 1 to 8",
        ),
        (
            ["src", "--name", "n", "-j", "x"],
            "invalid value for '--jobs': 'x' is not a whole number",
        ),
        (["src", "--name", "n", "--mode", "c"], "'--mode': invalid choice: 'c'"),
        (["src", "--name", "n", "--nope"], "unrecognized arguments: --nope"),
        (["src", "--name", "n", "--fa"], "unrecognized arguments: --fa"),  # no abbreviations
        (["src", "--name"], "'--name': expected one argument"),
    ],
)
def test_bad_arguments_are_usage_errors_with_the_usage(args: list[str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        demo.invoke(args, _state(), "demo")
    assert raised.value.message.startswith(message), raised.value.message
    assert raised.value.usage == "usage: demo [OPTIONS] SRC [MORE...]"
    assert raised.value.prog == "demo"


def test_help_is_shown_before_required_arguments_are_missed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(HelpShown) as shown:
        demo.invoke(["--help"], _state(), "demo")
    assert shown.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: demo [OPTIONS] SRC [MORE...]\n\nDemonstrate every kind")
    assert "A second paragraph." in out
    assert "-j N, --jobs N" in out and "Required, or DEMO_NAME." in out


def test_a_group_takes_its_options_then_a_command() -> None:
    seen.clear()
    assert isinstance(tools, Group)
    assert tools.invoke(["demo", "src", "--name", "n"], _state(), "tools") == 7
    with pytest.raises(UsageError, match=r"missing command \(one of: demo\)"):
        tools.invoke([], _state(), "tools")
    with pytest.raises(UsageError, match=r"no command 'demox' \(choose from demo\)") as raised:
        tools.invoke(["demox"], _state(), "tools")
    assert raised.value.usage == "usage: tools [OPTIONS] COMMAND [ARGS]..."
    with pytest.raises(UsageError) as raised:
        tools.invoke(["demo", "src"], _state(), "tools")
    assert raised.value.prog == "tools demo"


def test_file_path_refuses_a_directory(tmp_path: Path) -> None:
    assert file_path(str(tmp_path / "ca.pem")) == str(tmp_path / "ca.pem")
    with pytest.raises(ValueError, match="is a directory"):
        file_path(str(tmp_path))


def test_every_command_of_promoter_builds_its_parser() -> None:
    """Every declaration is one argparse accepts (a clash of flags would raise here)."""
    for name in cli.names:
        sub = cli.get(name)
        assert sub is not None
        assert sub.parser(f"promoter {name}").format_usage().startswith(f"usage: promoter {name}")
        assert sub.summary and not sub.summary.startswith(" ")


def test_no_command_is_one_line_and_exit_2() -> None:
    outcome = run_in_process([])
    assert outcome.code == 2
    assert outcome.first_error_line.startswith("error: missing command (one of: apply, build,")
    assert outcome.stderr.splitlines()[-1] == "hint: see 'promoter --help'"
    assert outcome.stdout == ""


def test_a_usage_error_names_the_command_and_its_help() -> None:
    outcome = run_in_process(["copy", "-j", "0", "a", "b"])
    assert outcome.code == 2
    assert outcome.stderr.splitlines() == [
        "error: invalid value for '--jobs': 0 is not in the range 1 to 64",
        "usage: promoter copy [OPTIONS] [SRC] [DST]",
        "hint: see 'promoter copy --help'",
    ]
    outcome = run_in_process(["index", "create", "--bogus", "a", "b"])
    assert outcome.code == 2
    assert outcome.stderr.splitlines()[-1] == "hint: see 'promoter index create --help'"


def test_an_error_of_the_command_itself_gets_its_usage_too() -> None:
    outcome = run_in_process(["run", "--stage", "deploy"])
    assert outcome.code == 2
    assert outcome.stderr.splitlines() == [
        "error: unknown stage 'deploy' in --stage",
        "usage: promoter run [OPTIONS]",
        "hint: see 'promoter run --help'",
    ]


def test_version_and_help_exit_0() -> None:
    outcome = run_in_process(["--version"])
    assert outcome.code == 0 and outcome.stdout.startswith("promoter, version ")
    outcome = run_in_process(["index", "--help"])
    assert outcome.code == 0
    assert "commands:\n  create  Create DST" in outcome.stdout


def test_rollback_reads_its_variables_from_the_invocation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROMOTER_ROLLBACK_TAG", raising=False)
    outcome = run_in_process(["rollback", "app", "-f", "nope.yml"])
    assert outcome.code == 2
    assert outcome.first_error_line == "error: missing option '--tag' (or PROMOTER_ROLLBACK_TAG)"
    monkeypatch.setenv("PROMOTER_ROLLBACK_TAG", "latest")
    outcome = run_in_process(["rollback", "app", "-f", "nope.yml"])
    assert outcome.code == 2  # past the options now: the pipeline file is missing
    assert outcome.first_error_line.startswith("error: nope.yml: no such file")
