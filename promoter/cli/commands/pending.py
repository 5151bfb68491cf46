"""The answer of a command whose capability has not landed yet."""

from __future__ import annotations

from typing import NoReturn

from promoter.errors import NotAvailableError

__all__ = ["not_available"]


def not_available(command: str, issue: int) -> NoReturn:
    """Refuse with exit 2: the command is registered, its capability lands with ``issue``."""
    raise NotAvailableError(
        f"'promoter {command}' is not available in this version yet",
        hint=f"it lands with issue #{issue}; 'promoter --help' lists what works today",
    )
