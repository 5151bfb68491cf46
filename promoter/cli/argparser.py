"""The standard library's parser, for what the quick read of a command line leaves.

``promoter.cli.parsing`` reads a well-formed command line itself
(``promoter.cli.quickparse``); help, usage and every parse error come from the
``argparse`` parser built here, for the one command that runs. Imported only then:
``argparse`` (with ``gettext``) and building its parser were 5-6 ms of a start that
needs neither (issue #24).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from promoter.cli.params import HelpShown, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Formatter", "Parser", "help_width"]

#: The width help is wrapped to, at most (narrower on a narrow terminal).
_HELP_WIDTH = 100


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written (paragraphs kept); help columns at most 100 wide."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=help_width())


def help_width() -> int:
    """The terminal's width, at most 100 (100 when stdout is not a terminal).

    Asked of the terminal directly: argparse would import ``shutil`` for it (and
    ``bz2``, ``lzma``), 2-3 ms of every command's start for help it rarely shows.
    """
    try:
        columns = os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return _HELP_WIDTH
    return max(60, min(_HELP_WIDTH, columns - 2))


class Parser(argparse.ArgumentParser):
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
