"""The parameters of a command, declared on the function that runs it.

A command module declares its command the way it reads (``promoter.cli.parsing``
makes the command and parses its arguments)::

    @command()
    @argument("source", metavar="SRC")
    @option("--jobs", "-j", convert=int_range(1, 64), default=4, show_default=True, help=...)
    def copy(source: str, jobs: int) -> None: ...

Decorators apply bottom up, so each one prepends its parameter and ``command``
finds them in reading order. Every parse error is a ``UsageError``: ``main()``
prints it as one line, the command's usage and where its help is, and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any, TypeVar

    from promoter.cli.state import CliState

__all__ = [
    "Argument",
    "HelpShown",
    "Option",
    "Param",
    "UsageError",
    "argument",
    "file_path",
    "int_range",
    "option",
    "params_of",
]

if TYPE_CHECKING:
    F = TypeVar("F", bound=Callable[..., object])


class UsageError(Exception):
    """Bad options or arguments (exit 2). ``usage``: the command's usage line, and
    ``prog``: its name, for the hint to its help (empty: the running command's)."""

    def __init__(self, message: str, *, usage: str = "", prog: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.prog = prog


class HelpShown(Exception):
    """``--help`` or ``--version`` printed what it prints: the command ends with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Argument:
    """A positional argument: one value (``None`` when optional and absent), or with
    ``many`` a tuple of one or more (``required``) or any number."""

    def __init__(
        self, dest: str, *, metavar: str | None = None, required: bool = True, many: bool = False
    ) -> None:
        self.dest = dest
        self.metavar = metavar or dest.upper()
        self.required = required
        self.many = many

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        nargs = {(True, True): "+", (True, False): "*", (False, True): None, (False, False): "?"}[
            (self.many, self.required)
        ]
        parser.add_argument(self.dest, metavar=self.metavar, nargs=nargs)

    def value(self, parsed: Any) -> Any:
        return tuple(parsed) if self.many else parsed

    @property
    def usage(self) -> str:
        """How the usage line shows it: ``SRC``, ``[SRC]``, ``SRC...``."""
        shown = self.metavar
        if self.many and not shown.endswith("..."):
            shown += "..."
        if not self.required and not shown.startswith("["):
            shown = f"[{shown}]"
        return shown


class Option:
    """An option. ``flag``: on when given; ``multiple``: repeatable, a tuple of every value;
    ``choices``: the values it takes; ``convert``: text to value, ``ValueError`` naming
    what is wrong; ``envvar``: the variable read when the option is not given;
    ``callback(state, value)``: what it tells the invocation's state (``eager`` ones
    first); ``expose``: passed to the function (else only to the callback)."""

    def __init__(
        self,
        flags: tuple[str, ...],
        dest: str | None = None,
        *,
        help: str = "",
        metavar: str | None = None,
        default: Any = None,
        choices: tuple[str, ...] | None = None,
        convert: Callable[[str], Any] | None = None,
        flag: bool = False,
        multiple: bool = False,
        required: bool = False,
        envvar: str | None = None,
        show_default: bool = False,
        expose: bool = True,
        eager: bool = False,
        callback: Callable[[CliState, Any], None] | None = None,
    ) -> None:
        self.flags = flags
        self.dest = dest or self.name.lstrip("-").replace("-", "_")
        self.help = help
        self.metavar = metavar
        self.default = False if flag and default is None else default
        self.choices = choices
        self.convert = convert
        self.flag = flag
        self.multiple = multiple
        self.required = required
        self.envvar = envvar
        self.show_default = show_default
        self.expose = expose
        self.eager = eager
        self.callback = callback

    @property
    def name(self) -> str:
        """The option's long form, as errors name it."""
        return max(self.flags, key=len)

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        text = self.help
        if self.show_default:
            text += f" (default: {self.default})"
        flags = sorted(self.flags, key=len)  # -j, --jobs
        if self.flag:
            parser.add_argument(*flags, dest=self.dest, action="store_true", help=text)
            return
        metavar = self.metavar
        if metavar is None and self.choices:
            metavar = "{" + ",".join(self.choices) + "}"
        parser.add_argument(
            *flags,
            dest=self.dest,
            action="append" if self.multiple else "store",
            default=None,
            metavar=metavar,
            choices=self.choices,
            type=_checked(self.convert or str),
            help=text,
        )

    def value(self, parsed: Any, environ: Mapping[str, str]) -> Any:
        """The option's value: given, else from ``envvar``, else its default."""
        if self.multiple:
            return tuple(parsed or ())
        if self.flag:
            return bool(parsed)
        if parsed is None and self.envvar and environ.get(self.envvar):
            parsed = self._from_env(environ[self.envvar])
        if parsed is None:
            if self.required:
                also = f" (or {self.envvar})" if self.envvar else ""
                raise UsageError(f"missing option '{self.name}'{also}")
            return self.default
        return parsed

    def _from_env(self, text: str) -> Any:
        if self.choices and text not in self.choices:
            raise UsageError(
                f"{self.envvar}: invalid choice {text!r} (choose from {', '.join(self.choices)})"
            )
        if self.convert is None:
            return text
        try:
            return self.convert(text)
        except ValueError as bad:
            raise UsageError(f"{self.envvar}: {bad}") from None

    def takes_value(self) -> bool:
        return not self.flag


def _checked(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """``convert`` as argparse's ``type``: its ``ValueError`` becomes the parse error's text."""

    import argparse  # here, not at the top: only an argparse parser asks (help, refused lines)

    def run(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as bad:
            raise argparse.ArgumentTypeError(str(bad)) from None

    run.__name__ = getattr(convert, "__name__", "value")
    return run


def int_range(low: int, high: int) -> Callable[[str], int]:
    """An integer from ``low`` to ``high``, both included."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is not in the range {low} to {high}")
        return value

    return convert


def file_path(text: str) -> str:
    """A path that is not a directory (it need not exist yet)."""
    if os.path.isdir(text):
        raise ValueError(f"{text!r} is a directory, not a file")
    return text


Param = Argument | Option


def params_of(func: Callable[..., object]) -> list[Param]:
    """The parameters declared on ``func`` so far (the list itself, in reading order)."""
    found: list[Param] = func.__dict__.setdefault("__promoter_params__", [])
    return found


def argument(
    dest: str, *, metavar: str | None = None, required: bool = True, many: bool = False
) -> Callable[[F], F]:
    """Declare a positional argument of the command below."""

    def decorate(func: F) -> F:
        params_of(func).insert(0, Argument(dest, metavar=metavar, required=required, many=many))
        return func

    return decorate


def option(*flags: str, dest: str | None = None, **settings: Any) -> Callable[[F], F]:
    """Declare an option of the command below (the keywords of ``Option``)."""

    def decorate(func: F) -> F:
        params_of(func).insert(0, Option(flags, dest, **settings))
        return func

    return decorate
