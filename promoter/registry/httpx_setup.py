"""How promoter loads and tunes httpx: once, without its command-line client, larger reads.

Two process-wide adjustments, made before httpx is first imported:

* httpx's ``__init__`` imports its optional command-line client
  (``httpx._main``: click, rich, pygments) whenever those happen to be
  installed. promoter never uses it, and it costs about 40 ms of every start,
  so an inert stand-in takes its place (``httpx.main`` then says so).
* httpcore reads HTTP/1.1 bodies in 64 KiB ``recv`` calls; every piece then
  crosses h11, httpcore, httpx and the copy engine in Python. A blob streamed
  from one registry to another costs a third less CPU with 1 MiB reads
  (benchmarks/copy_bench.py). Memory stays bounded: one read per connection.
"""

from __future__ import annotations

import sys
import types

__all__ = ["READ_PIECE", "prepare"]

#: Bytes asked of the socket per read of a response body.
READ_PIECE = 1024 * 1024


def _no_cli() -> None:
    """Stands in for ``httpx.main``: the httpx CLI is not part of promoter."""
    raise SystemExit("the httpx command-line client is not loaded inside promoter")


def prepare() -> None:
    """Install the stand-in for httpx's CLI module (only when httpx is not loaded yet)."""
    if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
        stand_in = types.ModuleType("httpx._main")
        stand_in.main = _no_cli  # type: ignore[attr-defined]
        sys.modules["httpx._main"] = stand_in


def tune_reads() -> None:
    """Raise httpcore's per-read size to ``READ_PIECE`` (never lower it)."""
    try:
        from httpcore._sync.http11 import HTTP11Connection
    except ImportError:  # pragma: no cover - httpcore reorganised: keep its default
        return
    if getattr(HTTP11Connection, "READ_NUM_BYTES", READ_PIECE) < READ_PIECE:
        HTTP11Connection.READ_NUM_BYTES = READ_PIECE


prepare()
