"""``RequestBudget``: what one registry may be asked at once, the top of the stack.

Slots: at most ``max_concurrency`` reads (GET, HEAD) and as many writes at
once. Reads and writes have separate bounds, and a copy always opens its read
before its write, so a same-registry copy cannot deadlock. A request holds
its slot through its retries; a streamed answer holds it until closed.

This is also where a per-registry rate limit (``requests_per_second``) will
wait for its turn: in ``_admit``, before a slot is taken.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from promoter.registry.layers.request import Handler, RegistryRequest

if TYPE_CHECKING:
    import httpx

__all__ = ["READ_METHODS", "RequestBudget"]

READ_METHODS = frozenset({"GET", "HEAD"})


class RequestBudget:
    """Bound the requests in flight to one registry: read slots and write slots."""

    def __init__(self, inner: Handler, max_concurrency: int) -> None:
        self._inner = inner
        self._reads = threading.BoundedSemaphore(max(1, max_concurrency))
        self._writes = threading.BoundedSemaphore(max(1, max_concurrency))

    def handle(self, request: RegistryRequest) -> httpx.Response:
        """Send ``request`` within a slot; a streamed answer keeps it until closed."""
        slot = self._admit(request.method)
        try:
            response = self._inner.handle(request)
            if request.stream and not response.is_closed:
                from promoter.registry.layers.releasing import ReleasingStream

                response.stream = ReleasingStream(response.stream, slot.release)
                return response
        except BaseException:
            slot.release()
            raise
        slot.release()
        return response

    @contextmanager
    def slot(self, method: str) -> Iterator[None]:
        """Hold one read or write slot (for work outside the stack: the pipe, the ping)."""
        slot = self._admit(method)
        try:
            yield
        finally:
            slot.release()

    def _admit(self, method: str) -> threading.BoundedSemaphore:
        """Take a slot for ``method``: the one place a request waits for its turn."""
        semaphore = self._reads if method.upper() in READ_METHODS else self._writes
        semaphore.acquire()
        return semaphore
