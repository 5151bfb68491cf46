"""Process-wide CLI settings that the error handler must see after click has returned."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = ["STATE", "CliState"]


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
    document: dict[str, Any] | None = None
    plan_file: str = ""

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
        return "NO_COLOR" not in os.environ


STATE = CliState()
