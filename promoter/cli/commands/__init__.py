"""One module per command; ``NAMES`` is what ``promoter.cli.main`` offers, ``load`` imports one.

Each command ``NAME`` is the attribute ``NAME`` of ``promoter.cli.commands.NAME``.
The group loads a command's module only when that command runs (or help lists
them all): importing all fifteen cost about a third of a ``promoter copy`` that
has nothing to do (config models, policy and plan modules it never uses).
"""

from __future__ import annotations

import importlib

from promoter.cli.parsing import Command

__all__ = ["NAMES", "load"]

NAMES: tuple[str, ...] = (
    "validate",
    "plan",
    "run",
    "apply",
    "build",
    "copy",
    "check",
    "inspect",
    "index",
    "tags",
    "schema",
    "keygen",
    "history",
    "rollback",
    "prune",
)


def load(name: str) -> Command:
    """The command ``name`` (one of ``NAMES``), its module imported now."""
    command = getattr(importlib.import_module(f"promoter.cli.commands.{name}"), name)
    if not isinstance(command, Command):  # pragma: no cover - a module's own mistake
        raise TypeError(f"promoter.cli.commands.{name}.{name} is not a command")
    return command
