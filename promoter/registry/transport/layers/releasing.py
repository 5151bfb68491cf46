"""A streamed body that hands its request slot back when it is closed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from promoter.registry.transport.wire import Body

__all__ = ["ReleasingStream"]


class ReleasingStream:
    """Wrap a response body: closing it (once) also calls ``release``."""

    def __init__(self, inner: Body, release: Callable[[], None]) -> None:
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
