"""The ``promoter`` command group and the one table from error to exit code.

A command's module is imported when that command runs (``promoter.cli.commands``),
and command modules import heavy libraries (docker, git, jsonschema, cryptography)
inside their functions only, so ``promoter --help`` starts fast.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from types import FrameType

from promoter import __version__
from promoter.ci.boundary import Boundary
from promoter.ci.service import SERVICES, detect_service
from promoter.cli import commands
from promoter.cli.fastexit import finish, skip_teardown
from promoter.cli.params import HelpShown, Option, UsageError
from promoter.cli.parsing import Group
from promoter.cli.render import emit_error
from promoter.cli.state import CliState, running
from promoter.environment import snapshot
from promoter.errors import (
    InputError,
    OperationError,
    PromoterError,
    RefusedError,
)
from promoter.notices import listening
from promoter.redaction import redact
from promoter.untrusted import one_line

__all__ = ["ENV_TIMEOUT", "EXIT_CODES", "cli", "exit_code_for", "main", "resolve_ci"]

#: Exit codes: 0 done; 1 refused; 2 bad input; 3 failed; 130 interrupted (as ``--help`` says).
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


def _remember_debug(state: CliState, value: bool) -> None:
    state.debug = state.debug or value


#: The variable ``--timeout`` wins over: the bound of every registry read (the run's
#: ``Settings.timeout``, which ``RegistryOptions.from_settings`` reads).
ENV_TIMEOUT = "PROMOTER_TIMEOUT"


def _positive_seconds(text: str) -> str:
    """``text`` when it is a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{text!r} is not a positive number of seconds")
    return text


def _set_timeout(state: CliState, value: str | None) -> None:
    if value is not None:
        state.timeout = value


def _common_options() -> list[Option]:
    """``--ci``, ``--debug`` and ``--timeout``: on ``promoter`` and on every command."""
    return [
        # read before parsing (see ``resolve_ci``); declared so that help shows it
        Option(
            ("--ci",),
            choices=SERVICES,
            expose=False,
            help="The CI service to write outputs, summary and annotations for "
            "(default: detected; also PROMOTER_CI).",
        ),
        Option(
            ("--debug",),
            flag=True,
            expose=False,
            eager=True,
            callback=_remember_debug,
            help="Print tracebacks and debug logs.",
        ),
        Option(
            ("--timeout",),
            metavar="SECONDS",
            convert=_positive_seconds,
            expose=False,
            eager=True,
            callback=_set_timeout,
            help="Give up on a registry operation after SECONDS (also PROMOTER_TIMEOUT).",
        ),
    ]


def resolve_ci(argv: list[str], environ: Mapping[str, str] | None = None) -> str:
    """The CI service: ``--ci`` in ``argv``, else ``PROMOTER_CI``, else detected.

    Decided before the arguments are parsed, so that secrets are masked before
    the first line is printed. ``ValueError`` for a value that is not a service.
    ``environ``: the invocation's environment (None: a snapshot of this process's).
    """
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        value = None
        if arg == "--ci" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--ci="):
            value = arg[len("--ci=") :]
        if value is not None:
            if value not in SERVICES:
                raise ValueError(f"--ci {value!r}: choose one of {', '.join(SERVICES)}")
            return value
    return detect_service(snapshot() if environ is None else environ)


def _command_name(argv: list[str]) -> str:
    return next((arg for arg in argv if arg in commands.NAMES), "")


def _promoter() -> None:
    """Build, tag, check and promote container images between OCI registries.

    One pipeline.yml drives: build (kaniko) -> tags from git -> push to staging
    -> policy checks -> promotion by digest to production repositories.

    Exit codes: 0 done, 1 refused (policy or tag conflict), 2 bad input,
    3 operation failed, 130 interrupted.
    """


def _show_version(_state: CliState, asked: bool) -> None:
    if asked:
        sys.stdout.write(f"promoter, version {__version__}\n")
        raise HelpShown(0)


#: ``promoter``: the command group; a command's module is imported when it runs.
cli = Group("promoter", _promoter, [], names=commands.NAMES, load=commands.load)
cli.add_params(
    [
        Option(
            ("--version",),
            flag=True,
            expose=False,
            eager=True,
            callback=_show_version,
            help="Show the version and exit.",
        ),
        *_common_options(),
    ]
)
cli.each_command(lambda command: command.add_params(_common_options()))


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the code ``EXIT_CODES`` gives; never a traceback without --debug.

    On a CI service the adapter masks secrets from the start and, once the exit
    code is known, writes the service's outputs, summary and annotations.
    """
    args = list(argv if argv is not None else sys.argv[1:])
    if argv is None:  # the process is ours: end it without the interpreter's teardown
        skip_teardown()
    state = CliState(debug="--debug" in args)
    try:
        state.ci = resolve_ci(args, state.environ)
    except ValueError as bad:
        sys.stderr.write(f"error: {bad}\n")
        sys.exit(2)
    # Every layer learns the service from the run's settings (``CliState.settings``).
    state.ci_decided = True
    # From here on every byte printed passes the boundary (see promoter.ci.boundary).
    state.boundary = Boundary(state.ci)
    state.boundary.install()
    try:
        with running(state), _sigterm_as_interrupt(), _notices(state):
            code = _main_with_ci(args, state)
        if argv is None:
            finish(code)
        sys.exit(code)
    finally:
        state.boundary.uninstall()


def _notices(state: CliState) -> AbstractContextManager[None]:
    """What the library layers tell (``promoter.notices``: a registry's long wait), on
    stderr as one redacted line, unless ``--quiet``. Any thread may tell one."""

    def show(line: str) -> None:
        if not state.quiet:
            sys.stderr.write(redact(f"note: {one_line(line)}") + "\n")

    return listening(show)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM as SIGINT: ``KeyboardInterrupt``, exit 130 (a promotion handles both itself)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _main_with_ci(args: list[str], state: CliState) -> int:
    state.command = _command_name(args)
    adapter = None
    if state.ci != "none":
        # here, not at the top: CI only: the adapters into every command (+26 modules, 14 ms)
        from promoter.ci.adapters import adapter_for

        adapter = adapter_for(state.ci, state.environ, state.boundary)
        if adapter is not None:
            adapter.start()
    code = _run(args, state)
    if adapter is not None and state.command:
        # here, not at the top: CI only: ci.adapter into every command (+23 modules, 11 ms)
        from promoter.ci.adapter import Finished

        try:
            adapter.finish(Finished(state.command, state.document, code, state.plan_file))
        except OSError as error:
            sys.stderr.write(f"error: cannot write the CI outputs: {error}\n")
            code = code or 3
    return code


def _usage_error(bad: UsageError) -> None:
    """``error: MESSAGE`` first (as every failure), then the command's usage and where help is."""
    lines = [f"error: {one_line(bad.message)}"]
    if bad.usage:
        lines.append(bad.usage)
    lines.append(f"hint: see '{bad.prog or 'promoter'} --help'")
    sys.stderr.write(redact("\n".join(lines)) + "\n")


def _traceback() -> None:
    import traceback  # here, not at the top: --debug and crashes only (it imports linecache)

    sys.stderr.write(redact(traceback.format_exc()))


def _run(args: list[str], state: CliState) -> int:
    """The command's exit code; errors printed as one line (and JSON when asked)."""
    try:
        # What the command returned: None, or an int exit code of its own.
        result = cli.invoke(args, state, "promoter")
    except HelpShown as done:  # --help, --version
        return done.code
    except UsageError as bad:
        # Usage errors: bad options or arguments (exit 2), one clear line first.
        _usage_error(bad)
        return 2
    except PromoterError as error:
        code = exit_code_for(error)
        if state.debug:
            _traceback()
        emit_error(error, code)
        return code
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as unexpected:  # the last resort: still one line (and document), exit 3
        if state.debug:
            _traceback()
        internal = OperationError(
            f"internal error: {type(unexpected).__name__}: {unexpected}",
            hint="re-run with --debug for a traceback, and report it",
        )
        emit_error(internal, 3)
        return 3
    return result if isinstance(result, int) else 0
