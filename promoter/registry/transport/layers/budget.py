"""The request budget of one registry: slots at the top of the stack, a pace below.

``RequestBudget`` holds the slots: at most ``max_concurrency`` reads (GET,
HEAD) and as many writes at once. Reads and writes have separate bounds, and a
copy always opens its read before its write, so a same-registry copy cannot
deadlock. A request holds its slot through its retries; a streamed answer
holds it until closed.

``RateGate`` keeps the registry's pace (``promoter.registry.transport.ratelimit``): it
sits below the retries and the 401 challenge, so every request that reaches
the registry, each attempt included, waits for its turn there, and every
answer is heard: a 429 lowers the rate shared by all the process's workers and
holds them until its ``Retry-After`` has passed. Work outside the stack (the
pipe, the ping) takes its slot and its turn together, with ``slot``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from promoter.registry.access.retry import parse_retry_after
from promoter.registry.transport.deadline import time_left
from promoter.registry.transport.layers.releasing import ReleasingStream
from promoter.registry.transport.layers.request import Handler, RegistryRequest
from promoter.structs import replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.transport.ratelimit import RateLimiter
    from promoter.registry.transport.wire import Response

__all__ = ["READ_METHODS", "RateGate", "RequestBudget"]

READ_METHODS = frozenset({"GET", "HEAD"})


class RequestBudget:
    """Bound the requests in flight to one registry: read slots and write slots."""

    def __init__(
        self, inner: Handler, max_concurrency: int, limiter: RateLimiter | None = None
    ) -> None:
        self._inner = inner
        self._reads = threading.BoundedSemaphore(max(1, max_concurrency))
        self._writes = threading.BoundedSemaphore(max(1, max_concurrency))
        #: The pace of the requests that do not go down the stack (``slot``).
        self.limiter = limiter

    def handle(self, request: RegistryRequest) -> Response:
        """Send ``request`` within a slot; a streamed answer keeps it until closed."""
        slot = self._admit(request.method, paced=False)  # the gate below paces each attempt
        try:
            response = self._inner.handle(request)
            if request.stream and not response.is_closed:
                response.stream = ReleasingStream(response.stream, slot.release)
                return response
        except BaseException:
            slot.release()
            raise
        slot.release()
        return response

    @contextmanager
    def slot(self, method: str) -> Iterator[None]:
        """Hold one read or write slot, after the turn of the one request it is for
        (for work outside the stack: the pipe, the ping)."""
        slot = self._admit(method, paced=True)
        try:
            yield
        finally:
            slot.release()

    def _admit(self, method: str, *, paced: bool) -> threading.BoundedSemaphore:
        """Take a slot for ``method``, then (``paced``) wait for the registry's pace."""
        semaphore = self._reads if method.upper() in READ_METHODS else self._writes
        semaphore.acquire()
        if paced and self.limiter is not None:
            try:
                self.limiter.wait(time_left())
            except BaseException:
                semaphore.release()
                raise
        return semaphore


class RateGate:
    """Each request to the registry waits for its turn; every answer is heard."""

    def __init__(self, inner: Handler, limiter: RateLimiter) -> None:
        self._inner = inner
        self.limiter = limiter

    def handle(self, request: RegistryRequest) -> Response:
        """Wait for the turn, send ``request`` on (``sending`` again at the socket write,
        where a worker woken late from its turn is held to the window), tell the pace
        what came back."""
        self.limiter.wait(time_left())
        response = self._inner.handle(replace(request, pace=self.limiter.sending))
        if response.status_code == 429:
            self.limiter.heard(429, parse_retry_after(response.headers.get("Retry-After")))
        return response
