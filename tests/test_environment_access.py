"""One module of promoter reads the process environment, and none writes it (DESIGN: settings
are values). Every other module gets what users set there as values: the CLI's ``Settings``
(built from a snapshot of ``promoter.environment``), or a mapping passed in."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "promoter"
#: The one reader (``promoter.environment``).
READER = PACKAGE / "environment.py"
#: What reads or writes the process environment: ``os.environ``, ``os.environb``,
#: ``os.getenv``, ``os.getenvb``, ``os.putenv``, ``os.unsetenv``.
NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _touches(source: str) -> list[tuple[int, str]]:
    """Each use of the process environment in ``source``: ``os.NAME``, or ``NAME``
    imported from ``os`` (``from os import environ``), with its line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in NAMES:
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                found.append((node.lineno, f"os.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [
                (node.lineno, f"from os import {a.name}") for a in node.names if a.name in NAMES
            ]
    return found


def _writes(source: str) -> list[tuple[int, str]]:
    """Writes to the process environment: an assignment, ``del`` or ``+=`` on ``os.environ[...]``,
    or a call of a mutating method on ``os.environ``, or ``os.putenv``/``os.unsetenv``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            if isinstance(target, ast.Subscript) and _is_environ(target.value):
                found.append((node.lineno, "os.environ[...] ="))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if _is_environ(node.func.value) and node.func.attr in {
                "pop",
                "popitem",
                "setdefault",
                "update",
                "clear",
                "__setitem__",
                "__delitem__",
            }:
                found.append((node.lineno, f"os.environ.{node.func.attr}()"))
            if _is_os(node.func.value) and node.func.attr in {"putenv", "unsetenv"}:
                found.append((node.lineno, f"os.{node.func.attr}()"))
    return found


def _is_os(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "os"


def _is_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _is_os(node.value)


def test_only_the_environment_module_reads_the_process_environment() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != READER
        for line, what in _touches(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert _touches(READER.read_text(encoding="utf-8")) != []  # the reader is where it says


def test_nothing_in_promoter_writes_the_process_environment() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, what in _writes(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_scan_finds_reads_and_writes() -> None:
    """The checks themselves: each form is caught, in a function too."""
    source = (
        "import os\nfrom os import getenv\n"
        "def f():\n    os.environ['A'] = '1'\n    os.environ.pop('B', None)\n"
        "    os.putenv('C', '2')\n    return os.getenv('D')\n"
    )
    touched = {what for _, what in _touches(source)}
    assert touched == {"from os import getenv", "os.environ", "os.putenv", "os.getenv"}
    written = {what for _, what in _writes(source)}
    assert written == {"os.environ[...] =", "os.environ.pop()", "os.putenv()"}
    assert _touches("import os\npath = os.path.join('a', 'b')\n") == []
