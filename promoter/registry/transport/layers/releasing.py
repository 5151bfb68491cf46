"""A streamed body that hands its request slot back when it is closed.

Imported on the first streamed answer only: it needs httpx at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx

__all__ = ["ReleasingStream"]


class ReleasingStream(httpx.SyncByteStream):
    """Wrap a response body: closing it (once) also calls ``release``."""

    def __init__(
        self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, release: Callable[[], None]
    ) -> None:
        if not isinstance(inner, httpx.SyncByteStream):
            raise TypeError("a registry transport streams synchronously")
        self._inner = inner
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._inner)

    def close(self) -> None:
        release, self._release = self._release, None
        try:
            self._inner.close()
        finally:
            if release is not None:
                release()
