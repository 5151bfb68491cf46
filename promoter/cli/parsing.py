"""Commands and groups of commands, parsed as argparse would.

``Command.invoke`` reads the arguments of the one command that runs, applies
environment fallbacks and the callbacks that fill the invocation's ``CliState``,
and calls the function with the parsed values. A well-formed line is read by
``promoter.cli.quickparse``; help, and any line it leaves, by an ``argparse`` parser
built for that command (``promoter.cli.argparser``), which words usage and errors.
A group (``promoter`` itself, ``promoter index``) takes its own options, then the
name of a subcommand, and hands the rest of the arguments to it; the top group
loads a command's module only when that command runs, or when its help lists
them all.

The standard library's parser, not a framework: ``promoter copy`` with nothing to
do is mostly start-up, and a framework's import was a fifth of it (issue #24).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from promoter.cli.params import Argument, Option, Param, UsageError, params_of
from promoter.cli.quickparse import quick_parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from promoter.cli.argparser import Parser
    from promoter.cli.state import CliState

__all__ = ["Command", "Group", "command", "group"]


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

    def parser(self, prog: str) -> Parser:
        """The command's argparse parser: for help, usage, and the lines it alone reads."""
        # here, not at the top: help and refused lines only (argparse: +2 modules, 3 ms)
        from promoter.cli.argparser import Formatter, Parser

        positionals = [p.usage for p in self.params if isinstance(p, Argument)]
        parser = Parser(
            prog=prog,
            usage=" ".join([prog, "[OPTIONS]", *positionals]),
            description=self.doc,
            formatter_class=Formatter,
            allow_abbrev=False,
            add_help=False,
        )
        for param in self.params:
            param.add_to(parser)
        parser.add_argument("-h", "--help", action="help", help="Show this help and exit.")
        return parser

    def parse(self, args: list[str], prog: str) -> dict[str, Any]:
        """The values of ``args`` by ``dest`` (``UsageError``, ``HelpShown`` from argparse)."""
        parsed = quick_parse(self.params, args)
        return parsed if parsed is not None else vars(self.parser(prog).parse_args(args))

    def invoke(self, args: list[str], state: CliState, prog: str) -> object:
        """Parse ``args``, tell the state, run the function: what it returns."""
        parsed = self.parse(args, prog)
        try:
            return self.func(**self._values(parsed, state))
        except UsageError as bad:  # a value the command itself refuses (``run --stage``)
            if bad.usage:
                raise
            raise self.parser(prog).refusal(bad.message) from None

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

    def parser(self, prog: str) -> Parser:
        parser = super().parser(prog)
        parser.usage = f"{prog} [OPTIONS] COMMAND [ARGS]..."
        parser.epilog_of = self._command_list
        return parser

    def _command_list(self) -> str:
        """Each subcommand and the first line of its help: every module loaded, so only
        for ``--help``."""
        import textwrap  # here, not at the top: help only

        from promoter.cli.argparser import help_width  # here, not at the top: help only

        width = max(len(name) for name in self.names) + 2
        lines = []
        for name in sorted(self.names):
            sub = self.get(name)
            lines += textwrap.wrap(
                sub.summary if sub else "",
                help_width(),
                initial_indent=f"  {name.ljust(width)}",
                subsequent_indent=" " * (width + 2),
            )
        return "commands:\n" + "\n".join(lines)

    def invoke(self, args: list[str], state: CliState, prog: str) -> object:
        """The group's own options, then the subcommand's ``invoke`` with the rest."""
        at = self._command_at(args)
        self._values(self.parse(args[:at], prog), state)
        names = ", ".join(sorted(self.names))
        if at == len(args):
            raise self.parser(prog).refusal(f"missing command (one of: {names})")
        sub = self.get(args[at])
        if sub is None:
            raise self.parser(prog).refusal(f"no command {args[at]!r} (choose from {names})")
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
