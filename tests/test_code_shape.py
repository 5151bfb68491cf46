"""Shapes the code keeps: no function over 60 lines where the registry, transfer and
promotion logic lives (issue #15), so each stays readable on one screen."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "promoter"
MAX_LINES = 60


def test_no_long_functions_in_registry_transfer_promote() -> None:
    long = []
    for package in ("registry", "transfer", "promote"):
        for path in sorted((PACKAGE / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > MAX_LINES:
                        long.append(
                            f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({lines})"
                        )
    assert long == []
