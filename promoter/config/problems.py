"""Positions, key paths and the problems found in a pipeline file.

A ``Problem`` is one located finding. ``raise_problems`` turns a list of them
into one ``ConfigError``: the first problem (in file order) is the error's
line, the others follow as its detail, each as ``FILE:LINE:COL: path: message``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from promoter.errors import ConfigError
from promoter.structs import struct

__all__ = [
    "KeyPath",
    "Mark",
    "Problem",
    "did_you_mean",
    "format_path",
    "raise_problems",
    "shown_path",
]

#: A path into the document: mapping keys and list indexes.
KeyPath = tuple["str | int", ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class _YamlMark(Protocol):
    line: int
    column: int


@struct(frozen=True, order=True)
class Mark:
    """A 1-based line and column in the pipeline file."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: _YamlMark) -> Mark:
        """From a PyYAML mark (0-based)."""
        return cls(mark.line + 1, mark.column + 1)


@struct(frozen=True)
class Problem:
    """One located finding: where, which key path, what is wrong, and a fix."""

    mark: Mark
    path: str
    message: str
    hint: str | None = None

    def error(self, file: str) -> ConfigError:
        """This problem as a ``ConfigError``."""
        return ConfigError(
            self.message,
            file=file,
            line=self.mark.line,
            column=self.mark.column,
            path=self.path or None,
            hint=self.hint,
        )


def format_path(path: Iterable[str | int]) -> str:
    """``('images', 'web', 'promote', 0, 'to')`` -> ``images.web.promote[0].to``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def did_you_mean(word: object, choices: Iterable[str]) -> str | None:
    """A "did you mean 'x'?" hint when a close choice exists."""
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    if not close:
        lowered = {choice.lower(): choice for choice in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f"did you mean '{close[0]}'?" if close else None


def raise_problems(file: str, problems: Sequence[Problem]) -> None:
    """Raise the first problem in file order, with the rest as detail; no-op if none."""
    if not problems:
        return
    ordered = sorted(problems, key=lambda problem: (problem.mark, problem.path))
    unique: list[Problem] = []
    for problem in ordered:
        if problem not in unique:
            unique.append(problem)
    error = unique[0].error(file)
    if len(unique) > 1:
        error.detail = "\n".join(problem.error(file).message for problem in unique[1:])
    raise error


def shown_path(path: Path) -> str:
    """A file as people know it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
