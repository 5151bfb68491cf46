"""Benchmarks measure promoter as a wheel install runs it: its bytecode compiled.

An editable install leaves ``promoter/`` uncompiled, and with
``PYTHONDONTWRITEBYTECODE`` set (as on this machine) every start would compile
every module again; ``pip install`` of a wheel compiles at install time.
"""

from __future__ import annotations

import compileall
from pathlib import Path

__all__ = ["compile_promoter"]


def compile_promoter() -> None:
    """Write (or refresh) the bytecode of the ``promoter`` package."""
    package = Path(__file__).resolve().parent.parent / "promoter"
    compileall.compile_dir(str(package), quiet=1)
