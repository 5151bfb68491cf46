"""Benchmarks measure promoter as a wheel install runs it: its bytecode compiled.

An editable install leaves ``promoter/`` uncompiled, and with
``PYTHONDONTWRITEBYTECODE`` set (as on this machine) every start would compile
every module again; ``pip install`` of a wheel compiles at install time.

The promoter processes a benchmark starts also run without
``PYTHONDONTWRITEBYTECODE``, as on a machine that does not set it: each command
keeps its start cache after its first run (``promoter.cli.startcache``), which the
benchmarks' warm-up runs write. ``rerun_bench.py`` shows a row without it beside.
"""

from __future__ import annotations

import compileall
import os
from pathlib import Path

__all__ = ["compile_promoter"]


def compile_promoter() -> None:
    """Write (or refresh) the bytecode of the ``promoter`` package; let the processes this
    benchmark starts write bytecode (and start caches) as a default Python does."""
    package = Path(__file__).resolve().parent.parent / "promoter"
    compileall.compile_dir(str(package), quiet=1)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
