"""Rendering results and errors: one JSON document on stdout, or text; logs on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from promoter.cli.state import STATE
from promoter.errors import PromoterError

__all__ = ["emit", "emit_error", "log"]


def emit(result: Any, text: Callable[[Any], str] | str | None = None) -> None:
    """Print a command's result: JSON when ``--output json``, else its text form."""
    if STATE.output == "json":
        sys.stdout.write(json.dumps(result, indent=2, sort_keys=False, default=str) + "\n")
        return
    if text is None:
        return
    rendered = text(result) if callable(text) else text
    if rendered:
        sys.stdout.write(rendered if rendered.endswith("\n") else rendered + "\n")


def log(message: str) -> None:
    """A progress or information line for people: always stderr, silenced by ``--quiet``."""
    if not STATE.quiet:
        sys.stderr.write(message + "\n")


def emit_error(error: PromoterError, exit_code: int) -> None:
    """Print an error: one clear line on stderr, then detail; JSON on stdout when asked."""
    sys.stderr.write(f"error: {error.message}\n")
    if error.detail:
        sys.stderr.write(error.detail.rstrip("\n") + "\n")
    if error.hint and error.hint not in error.message:
        sys.stderr.write(f"hint: {error.hint}\n")
    if STATE.output in ("json", "sarif"):
        doc = {"ok": False, "exit_code": exit_code, "error": error.to_dict()}
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
