"""The ``promoter`` command group and the one table from error to exit code.

Command modules import heavy libraries (httpx, docker, git, jsonschema) inside
their functions only, so ``promoter --help`` starts fast.
"""

from __future__ import annotations

import sys
import traceback

import click

from promoter import __version__
from promoter.cli.commands import COMMANDS
from promoter.cli.render import emit_error
from promoter.cli.state import STATE
from promoter.errors import (
    InputError,
    OperationError,
    PromoterError,
    RefusedError,
)

__all__ = ["EXIT_CODES", "cli", "exit_code_for", "main"]

#: DESIGN §3: 0 done; 1 refused; 2 bad input; 3 failed; 130 interrupted.
EXIT_CODES: tuple[tuple[type[PromoterError], int], ...] = (
    (RefusedError, 1),
    (InputError, 2),
    (OperationError, 3),
)


def exit_code_for(error: PromoterError) -> int:
    """The exit code of an error, by the first class in ``EXIT_CODES`` it belongs to."""
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return 3


def _remember_debug(_ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    STATE.debug = STATE.debug or value
    return value


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="promoter")
@click.option(
    "--debug",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_remember_debug,
    help="Print tracebacks and debug logs.",
)
def cli() -> None:
    """Build, tag, check and promote container images between OCI registries.

    One pipeline.yml drives: build (kaniko) -> tags from git -> push to staging
    -> policy checks -> promotion by digest to production repositories.

    Exit codes: 0 done, 1 refused (policy or tag conflict), 2 bad input,
    3 operation failed, 130 interrupted.
    """


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the code of DESIGN §3; never a traceback without --debug."""
    STATE.debug = STATE.debug or "--debug" in (argv if argv is not None else sys.argv[1:])
    # promoter never runs httpx's own command line; keeping httpx from importing
    # it (rich, pygments) saves about a tenth of a second for every command
    # that reaches a registry.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        # Without standalone mode click returns --help/--version's exit code, or
        # what the command returned: None, or an int exit code of its own.
        result = cli.main(args=argv, prog_name="promoter", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except click.ClickException as bad:
        # Usage errors: bad options or arguments (exit 2).
        bad.show()
        sys.exit(2)
    except PromoterError as error:
        code = exit_code_for(error)
        if STATE.debug:
            traceback.print_exc()
        emit_error(error, code)
        sys.exit(code)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as unexpected:  # the last resort: still one line, exit 3
        if STATE.debug:
            traceback.print_exc()
        sys.stderr.write(
            f"error: internal error: {type(unexpected).__name__}: {unexpected}\n"
            "hint: re-run with --debug for a traceback, and report it\n"
        )
        sys.exit(3)
    sys.exit(result if isinstance(result, int) else 0)
