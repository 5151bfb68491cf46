"""The command line interface: parse, call one library function, render, map errors."""

from __future__ import annotations

__all__: list[str] = []
