"""How promoter loads and tunes httpx: once, without its command-line client, larger reads.

``prepare()`` makes both process-wide adjustments, once; every
``RegistryTransport`` calls it as it is made, before anything of the registry
layer touches httpx:

* httpx's ``__init__`` imports its optional command-line client
  (``httpx._main``: click, rich, pygments) whenever those happen to be
  installed. promoter never uses it, and it costs about 40 ms of every start,
  so an inert stand-in takes its place (``httpx.main`` then says so).
* httpcore reads HTTP/1.1 bodies in 64 KiB ``recv`` calls; every piece then
  crosses h11 (which copies it twice), httpcore, httpx and the copy engine in
  Python. Streaming 1 GiB from one registry to another took 1.5 s of CPU with
  64 KiB reads, 1.1-1.3 s with 512 KiB and 1.0 s with 1 MiB, at a peak RSS of
  33, 46 and 60 MiB (4 blobs at once). 512 KiB keeps memory well under the
  64 MiB bound while taking most of the gain.

This is the one module of promoter that touches internals of httpx or
httpcore (``httpx._main``, ``HTTP11Connection.READ_NUM_BYTES``); both packages
are pinned with an upper bound in pyproject.toml, and
tests/registry/test_httpx_setup.py fails loudly when either internal moves.
The sockets' deadline needs none: ``deadline_transport`` gives httpcore's
public ``network_backend`` to a pool of its own.
"""

from __future__ import annotations

import sys
import threading
import types

__all__ = ["READ_PIECE", "prepare"]

#: Bytes asked of the socket per read of a response body.
READ_PIECE = 512 * 1024

_prepared = False
_lock = threading.Lock()


def prepare() -> None:
    """Load httpx without its CLI and with ``READ_PIECE`` reads (idempotent, thread-safe)."""
    global _prepared
    if _prepared:
        return
    with _lock:
        if not _prepared:
            _keep_the_cli_out()
            _tune_reads()
            _prepared = True


def _no_cli() -> None:
    """Stands in for ``httpx.main``: the httpx CLI is not part of promoter."""
    raise SystemExit("the httpx command-line client is not loaded inside promoter")


def _keep_the_cli_out() -> None:
    """Install the stand-in for httpx's CLI module (only when httpx is not loaded yet)."""
    if "httpx" not in sys.modules and sys.modules.get("httpx._main") is None:
        stand_in = types.ModuleType("httpx._main")
        stand_in.main = _no_cli  # type: ignore[attr-defined]
        sys.modules["httpx._main"] = stand_in


def _tune_reads() -> None:
    """Raise httpcore's per-read size to ``READ_PIECE`` (never lower it)."""
    import httpx  # noqa: F401  (loaded here, after the stand-in)

    try:
        from httpcore._sync.http11 import HTTP11Connection
    except ImportError:  # pragma: no cover - httpcore reorganised: keep its default
        return
    if getattr(HTTP11Connection, "READ_NUM_BYTES", READ_PIECE) < READ_PIECE:
        HTTP11Connection.READ_NUM_BYTES = READ_PIECE
