"""``RateLimiter``: one registry's request rate, shared by every worker of the process.

Requests are admitted at most ``rate`` per second and evenly spaced: each
takes the next free turn, ``1 / rate`` seconds after the one before (and
``SPACING_MARGIN`` more, so that the jitter of the network between here and
the registry does not put one request too many in the registry's second), so
there are no bursts and no one-second window holds more than the rate allows. A
turn is reserved under a lock and then waited for outside it, so workers
queue in order instead of racing.

A turn is a plan; what the registry counts is when a request is sent. A worker
woken late from its turn (a busy machine) would send beside the next one, so
the transport also calls ``sending`` at the moment it writes the request to the
socket: at most ``floor(rate)`` requests (one below a rate of 1) go in any
window of ``1 + SEND_MARGIN`` seconds (``(1 + SEND_MARGIN) / rate`` below 1),
counted by when they were really sent; a request that would be one too
many waits there until the oldest of them leaves the window.

The rate adapts. A 429 (``heard``) halves it (multiplicative decrease, once
per throttling episode however many answers in flight are refused with it),
holds every request of the process until its ``Retry-After`` has passed, and
the rate then climbs back additively (a tenth of its ceiling per second) to
the configured limit. Without a configured limit requests are not paced until
the registry refuses one: the pace then starts from half the rate of the last
second, climbs back to that rate, and is lifted again.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["MAX_HOLD", "RECOVERY", "SEND_MARGIN", "SPACING_MARGIN", "RateLimiter", "shared_limiter"]

#: The share of a turn added to its spacing: 50 ms of network jitter a second is absorbed.
SPACING_MARGIN = 0.05

#: The window of the requests really sent is this much over a second (and over
#: ``1 / rate`` below 1): 100 ms between our socket write and the registry's count
#: (a busy machine, the network) do not put one request too many in its second.
SEND_MARGIN = 0.1

#: The longest a ``Retry-After`` holds the whole process (a longer one is cut to this).
MAX_HOLD = 300.0
#: The share of its ceiling the rate climbs back per second after a decrease.
RECOVERY = 0.1
#: The lowest the rate falls to (or the limit, when it is lower).
_FLOOR = 1.0


class RateLimiter:
    """A thread-safe, adaptive pace of requests: ``wait`` for a turn, ``heard`` an answer."""

    def __init__(
        self,
        limit: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit is not None and not 0 < limit < math.inf:
            raise ValueError(f"a rate limit is a positive number, not {limit!r}")
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate = limit  # the current pace (requests per second); None: unpaced
        self._ceiling = limit  # what the rate climbs back to
        self._next = 0.0  # the earliest free turn
        self._hold_until = 0.0  # no request goes before this (a Retry-After)
        self._calm_after = 0.0  # a 429 before this belongs to the last episode
        self._updated = clock()
        self._epoch = 0  # bumped by every 429: turns reserved before it are checked again
        self._recent: deque[float] = deque()  # turns of the last second, while unpaced
        self._sent: deque[float] = deque()  # when paced requests really went, latest last
        #: How many 429 answers were heard, and how many times the rate was lowered.
        self.throttled = 0
        self.decreases = 0

    def tighten(self, limit: float) -> None:
        """Keep to ``limit`` from now on, if it is lower than the limit so far."""
        if not 0 < limit < math.inf:
            raise ValueError(f"a rate limit is a positive number, not {limit!r}")
        with self._lock:
            if self.limit is not None and self.limit <= limit:
                return
            self.limit = self._ceiling = limit
            self._rate = limit if self._rate is None else min(self._rate, limit)

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second (None: not paced)."""
        with self._lock:
            self._recover(self._clock())
            return self._rate

    def wait(self, bound: float | None = None) -> float:
        """Block until this request's turn; ``bound`` caps a ``Retry-After`` hold (the
        caller's deadline). Returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._recover(now)
                hold = self._hold_until
                if bound is not None:
                    hold = min(hold, now + max(0.0, bound - waited))
                turn = max(now, self._next, hold)
                if self._rate is not None:
                    self._next = turn + (1.0 + SPACING_MARGIN) / self._rate
                else:
                    self._remember(turn)
                epoch = self._epoch
            if turn > now:
                self._sleep(turn - now)
                waited += turn - now
            with self._lock:
                # A 429 heard meanwhile holds this turn too, unless the bound is spent.
                if self._epoch == epoch or self._clock() >= self._hold_until:
                    return waited
                if bound is not None and waited >= bound:
                    return waited

    def sending(self) -> float:
        """A paced request is being written to the socket now: wait while a ``Retry-After``
        heard since its turn holds the process, and while it would be one too many in the
        window of those really sent (see the module), then count it. Returns the seconds
        waited."""
        waited = 0.0
        while True:
            with self._lock:
                pause = self._sending_pause(self._clock())
            if pause <= 0.0:
                return waited
            self._sleep(pause)
            waited += pause

    def _sending_pause(self, now: float) -> float:
        """How long a request about to be written must wait (0: it is counted as sent)."""
        if now < self._hold_until:  # a 429 heard after this request's turn holds it too
            return self._hold_until - now
        if self._rate is None:
            return 0.0
        count, window = _window_of(self._rate)
        while self._sent and self._sent[0] <= now - window:
            self._sent.popleft()
        if len(self._sent) < count:
            self._sent.append(now)
            return 0.0
        return self._sent[-count] + window - now

    def heard(self, status: int, retry_after: float | None = None) -> None:
        """An answer of the registry: a 429 lowers the rate and holds every request."""
        if status != 429:
            return
        with self._lock:
            now = self._clock()
            self.throttled += 1
            self._epoch += 1
            hold = min(MAX_HOLD, retry_after) if retry_after is not None else 0.0
            self._hold_until = max(self._hold_until, now + hold)
            self._next = max(self._next, self._hold_until)
            if now < self._calm_after:
                return  # answers in flight when the first refusal came: one episode
            self._calm_after = now + max(hold, 1.0)
            self._decrease(now)

    def _decrease(self, now: float) -> None:
        self.decreases += 1
        if self._rate is None:
            cutoff = now - 1.0
            while self._recent and self._recent[0] <= cutoff:
                self._recent.popleft()
            self._ceiling = max(2 * _FLOOR, float(len(self._recent)))
            self._rate = self._ceiling
            self._recent.clear()
        floor = min(_FLOOR, self._ceiling or _FLOOR)
        self._rate = max(floor, self._rate / 2)
        self._updated = max(now, self._hold_until)

    def _recover(self, now: float) -> None:
        """Climb back toward the ceiling, additively, once the hold is over."""
        if self._rate is None or self._ceiling is None or self._rate >= self._ceiling:
            return
        if now <= self._updated:
            return
        self._rate = min(
            self._ceiling, self._rate + RECOVERY * self._ceiling * (now - self._updated)
        )
        self._updated = now
        if self._rate >= self._ceiling and self.limit is None:
            self._rate = self._ceiling = None  # back to unpaced

    def _remember(self, turn: float) -> None:
        self._recent.append(turn)
        cutoff = turn - 1.0
        while self._recent and self._recent[0] <= cutoff:
            self._recent.popleft()


def _window_of(rate: float) -> tuple[int, float]:
    """How many requests may go in how long a window at ``rate`` (see the module)."""
    if rate >= 1.0:
        return int(rate), 1.0 + SEND_MARGIN
    return 1, (1.0 + SEND_MARGIN) / rate


_SHARED: dict[str, RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(host: str, limit: float | None) -> RateLimiter:
    """The process's one ``RateLimiter`` of ``host``: every client of the registry in this
    process (the checks', the promotion's, each worker's) keeps one pace, at the lowest
    limit any of them was given."""
    with _SHARED_LOCK:
        limiter = _SHARED.get(host)
        if limiter is None:
            limiter = _SHARED[host] = RateLimiter(limit)
    if limit is not None:
        limiter.tighten(limit)
    return limiter
