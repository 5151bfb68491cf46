"""errors.py draws the whole error tree: every PromoterError subclass in promoter/, under
the parent it has in the code (its indentation in the drawing)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import promoter
from promoter import errors
from promoter.errors import PromoterError


def _all_subclasses() -> dict[str, str]:
    for module in pkgutil.walk_packages(promoter.__path__, "promoter."):
        importlib.import_module(module.name)
    found: dict[str, str] = {}
    pending = [PromoterError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found[sub.__name__] = cls.__name__
            pending.append(sub)
    return found


def _drawn() -> dict[str, str]:
    """Each class in the drawing and its parent, read from the tree's indentation."""
    doc = errors.__doc__ or ""
    parents: dict[int, str] = {}
    drawn: dict[str, str] = {}
    root = -1
    for line in doc.splitlines():
        match = re.search(r"(?:^\s+(?=PromoterError)|[├└]── )(\w+)", line)
        if not match or (root < 0 and match[1] != "PromoterError"):
            continue
        column = match.start(1)
        if match[1] == "PromoterError":
            root = column
        depth = (column - root) // 4
        parents[depth] = match[1]
        if depth:
            drawn[match[1]] = parents[depth - 1]
    return drawn


def test_every_error_class_is_drawn_under_its_parent() -> None:
    assert _drawn() == _all_subclasses()
