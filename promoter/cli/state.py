"""Process-wide CLI settings that the error handler must see after click has returned."""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["STATE", "CliState"]


@dataclass
class CliState:
    """What the option callbacks learned: how to render results and errors."""

    output: str = "text"
    debug: bool = False
    quiet: bool = False

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
        return "NO_COLOR" not in os.environ


STATE = CliState()
