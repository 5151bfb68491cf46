"""The CLI's settings for one invocation, carried by click's context.

``main()`` makes one ``CliState`` and hands it to click as the context object;
the option callbacks write to it, the command and the renderers read it, and
``main()`` reads it again once click has returned (the exit code, the CI
adapter). Code that runs outside click's context (the error handler) finds
the state ``main()`` made through ``running``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import click

from promoter.ci.boundary import Boundary

__all__ = ["CliState", "current_state", "running"]


@dataclass
class CliState:
    """What the option callbacks learned, and what the command left for the CI adapter."""

    output: str = "text"
    debug: bool = False
    quiet: bool = False
    #: The CI service (``github``, ``azure-devops``, ``none``), decided before parsing.
    ci: str = "none"
    #: The command's name, its JSON document and the plan file it wrote, for the CI side.
    command: str = ""
    document: dict[str, object] | None = None
    plan_file: str = ""
    #: stdout and stderr of this invocation, and the one door for promoter's own CI commands.
    boundary: Boundary = field(default_factory=Boundary)

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
        return "NO_COLOR" not in os.environ


_RUNNING: ContextVar[CliState | None] = ContextVar("promoter_cli_state", default=None)


@contextmanager
def running(state: CliState) -> Iterator[CliState]:
    """Make ``state`` the one ``current_state`` finds outside click's context, for a while."""
    token = _RUNNING.set(state)
    try:
        yield state
    finally:
        _RUNNING.reset(token)


def current_state() -> CliState:
    """The state of this invocation: click's context object, else the one ``main()`` made.

    Called with neither (a library caller rendering on its own), a default state.
    """
    context = click.get_current_context(silent=True)
    found = context.find_object(CliState) if context is not None else None
    if found is None:
        found = _RUNNING.get()
    return found if found is not None else CliState()
