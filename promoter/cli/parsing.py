"""Commands and groups of commands, parsed by argparse.

``Command.invoke`` builds an ``argparse`` parser for the one command that runs,
parses its arguments, applies environment fallbacks and the callbacks that fill
the invocation's ``CliState``, and calls the function with the parsed values. A
group (``promoter`` itself, ``promoter index``) takes its own options, then the
name of a subcommand, and hands the rest of the arguments to it; the top group
loads a command's module only when that command runs, or when its help lists
them all.

The standard library's parser, not a framework: ``promoter copy`` with nothing to
do is mostly start-up, and a framework's import was a fifth of it (issue #24).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable

from promoter.cli.params import Argument, HelpShown, Option, Param, UsageError, params_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from promoter.cli.state import CliState

__all__ = ["Command", "Group", "command", "group"]

#: The width help is wrapped to, at most (narrower on a narrow terminal).
_HELP_WIDTH = 100


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written (paragraphs kept); help columns at most 100 wide."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=_help_width())


def _help_width() -> int:
    """The terminal's width, at most 100 (100 when stdout is not a terminal).

    Asked of the terminal directly: argparse would import ``shutil`` for it (and
    ``bz2``, ``lzma``), 2-3 ms of every command's start for help it rarely shows.
    """
    try:
        columns = os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return _HELP_WIDTH
    return max(60, min(_HELP_WIDTH, columns - 2))


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting. ``epilog_of``: what makes the
    epilog, when help is shown (a group's list of commands loads every command's module)."""

    epilog_of: Callable[[], str] | None = None

    def format_help(self) -> str:
        if self.epilog_of is not None:
            self.epilog = self.epilog_of()
        return super().format_help()

    def refusal(self, message: str) -> UsageError:
        """A usage error of this parser's command: ``message``, its usage line, its name."""
        return UsageError(message, usage=self.format_usage().strip(), prog=self.prog)

    def error(self, message: str) -> Any:
        raise self.refusal(_worded(message))

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        if message:
            sys.stderr.write(message)
        raise HelpShown(status)


def _worded(message: str) -> str:
    """argparse's ``argument -j/--jobs: TEXT`` as ``invalid value for '--jobs': TEXT``
    (or ``'--output': invalid choice ...`` where TEXT says what is wrong itself)."""
    head, colon, rest = message.partition(": ")
    if not (head.startswith("argument ") and colon):
        return message
    name = max(head[len("argument ") :].split("/"), key=len)
    if rest.startswith(("invalid choice", "expected", "ignored", "not allowed")):
        return f"'{name}': {rest}"
    return f"invalid value for '{name}': {rest}"


def _cleaned(doc: str | None) -> str:
    """A docstring without its indentation (the first line has none of its own)."""
    first, _, rest = (doc or "").strip().partition("\n")
    lines = rest.splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join([first.strip(), *(line[indent:].rstrip() for line in lines)]).strip()


class Command:
    """A command: its name, its function, its parameters, its help (the docstring)."""

    def __init__(self, name: str, func: Callable[..., object], params: Iterable[Param]) -> None:
        self.name = name
        self.func = func
        self.params = list(params)

    @property
    def doc(self) -> str:
        """The help text: the function's docstring."""
        return _cleaned(self.func.__doc__)

    @property
    def summary(self) -> str:
        """The first paragraph of the help on one line, for a group's list of commands."""
        return " ".join(self.doc.split("\n\n", 1)[0].split())

    def options(self) -> list[Option]:
        return [p for p in self.params if isinstance(p, Option)]

    def add_params(self, params: Iterable[Param]) -> None:
        """More parameters (the options every command takes)."""
        self.params.extend(params)

    def parser(self, prog: str) -> _Parser:
        positionals = [p.usage for p in self.params if isinstance(p, Argument)]
        parser = _Parser(
            prog=prog,
            usage=" ".join([prog, "[OPTIONS]", *positionals]),
            description=self.doc,
            formatter_class=_Formatter,
            allow_abbrev=False,
            add_help=False,
        )
        for param in self.params:
            param.add_to(parser)
        parser.add_argument("-h", "--help", action="help", help="Show this help and exit.")
        return parser

    def invoke(self, args: list[str], state: CliState, prog: str) -> object:
        """Parse ``args``, tell the state, run the function: what it returns."""
        parser = self.parser(prog)
        parsed = vars(parser.parse_args(args))
        try:
            return self.func(**self._values(parsed, state))
        except UsageError as bad:  # a value the command itself refuses (``run --stage``)
            if bad.usage:
                raise
            raise parser.refusal(bad.message) from None

    def _values(self, parsed: dict[str, Any], state: CliState) -> dict[str, Any]:
        values: dict[str, Any] = {}
        options: list[tuple[Option, Any]] = []
        for param in self.params:
            if isinstance(param, Argument):
                values[param.dest] = param.value(parsed[param.dest])
                continue
            value = param.value(parsed[param.dest], state.environ)
            options.append((param, value))
            if param.expose:
                values[param.dest] = value
        for param, value in sorted(options, key=lambda pair: not pair[0].eager):
            if param.callback is not None:
                param.callback(state, value)
        return values


class Group(Command):
    """A command of commands: its own options, then a subcommand's name and its arguments.

    ``load(name)``: the subcommand ``name`` (one of ``names``), made when first asked for.
    """

    def __init__(
        self,
        name: str,
        func: Callable[..., object],
        params: Iterable[Param],
        *,
        names: Iterable[str] = (),
        load: Callable[[str], Command] | None = None,
    ) -> None:
        super().__init__(name, func, params)
        self.names = list(names)
        self._load = load
        self._commands: dict[str, Command] = {}
        self._common: list[Callable[[Command], None]] = []

    def command(self, name: str | None = None) -> Callable[[Callable[..., object]], Command]:
        """Declare a subcommand of this group (as ``command`` does)."""

        def decorate(func: Callable[..., object]) -> Command:
            made = Command(name or func.__name__, func, params_of(func))
            self.names.append(made.name)
            self._commands[made.name] = made
            return made

        return decorate

    def each_command(self, extend: Callable[[Command], None]) -> None:
        """Apply ``extend`` to every subcommand (and theirs), now and as each is loaded."""
        self._common.append(extend)
        for sub in self._commands.values():
            self._extend(sub, extend)

    @staticmethod
    def _extend(sub: Command, extend: Callable[[Command], None]) -> None:
        extend(sub)
        if isinstance(sub, Group):
            sub.each_command(extend)

    def get(self, name: str) -> Command | None:
        """The subcommand ``name``, or ``None`` when the group has none of that name."""
        if name not in self._commands:
            if name not in self.names or self._load is None:
                return None
            sub = self._load(name)
            for extend in self._common:
                self._extend(sub, extend)
            self._commands[name] = sub
        return self._commands[name]

    def parser(self, prog: str) -> _Parser:
        parser = super().parser(prog)
        parser.usage = f"{prog} [OPTIONS] COMMAND [ARGS]..."
        parser.epilog_of = self._command_list
        return parser

    def _command_list(self) -> str:
        """Each subcommand and the first line of its help: every module loaded, so only
        for ``--help``."""
        import textwrap  # here, not at the top: help only

        width = max(len(name) for name in self.names) + 2
        lines = []
        for name in sorted(self.names):
            sub = self.get(name)
            lines += textwrap.wrap(
                sub.summary if sub else "",
                _help_width(),
                initial_indent=f"  {name.ljust(width)}",
                subsequent_indent=" " * (width + 2),
            )
        return "commands:\n" + "\n".join(lines)

    def invoke(self, args: list[str], state: CliState, prog: str) -> object:
        """The group's own options, then the subcommand's ``invoke`` with the rest."""
        at = self._command_at(args)
        parser = self.parser(prog)
        parsed = vars(parser.parse_args(args[:at]))
        self._values(parsed, state)
        names = ", ".join(sorted(self.names))
        if at == len(args):
            raise parser.refusal(f"missing command (one of: {names})")
        sub = self.get(args[at])
        if sub is None:
            raise parser.refusal(f"no command {args[at]!r} (choose from {names})")
        return sub.invoke(args[at + 1 :], state, f"{prog} {sub.name}")

    def _command_at(self, args: list[str]) -> int:
        """Where the subcommand's name is: the first word that is not the group's option."""
        valued = {flag for o in self.options() if o.takes_value() for flag in o.flags}
        at = 0
        while at < len(args):
            word = args[at]
            if word == "--" or not word.startswith("-") or word == "-":
                return at + 1 if word == "--" and at + 1 < len(args) else at
            at += 2 if word in valued else 1
        return min(at, len(args))


def command(name: str | None = None) -> Callable[[Callable[..., object]], Command]:
    """Make the function below a command of that name (default: the function's)."""

    def decorate(func: Callable[..., object]) -> Command:
        return Command(name or func.__name__, func, params_of(func))

    return decorate


def group(name: str | None = None) -> Callable[[Callable[..., object]], Group]:
    """Make the function below (its docstring: the help) a group of subcommands."""

    def decorate(func: Callable[..., object]) -> Group:
        return Group(name or func.__name__, func, params_of(func))

    return decorate
