"""A rate-limiting proxy for tests: a real registry behind a per-second request budget.

What a cloud registry does when asked too much (ACR: 429 with ``Retry-After``
beyond its reads and writes per minute per identity), on demand: the proxy
forwards at most ``limit`` requests in any one-second window (sliding, so
bursts at a window's edge count) and answers every request beyond that
``429 Too Many Requests`` with ``Retry-After`` and the OCI ``TOOMANYREQUESTS``
error, without reaching the registry. A refused request does not use up the
budget. Every request is logged with its arrival time and whether it was
refused (``FaultProxy``'s exchange log: ``fault == "status"``).

    with RateLimitProxy(registry.host, limit=20) as proxy:
        ... promote through proxy.host ...
        assert proxy.refused() == 0 and proxy.peak_rate() <= 20
"""

from __future__ import annotations

import threading
import time
from collections import deque

from tests.support.fault_proxy import Exchange, Fault, FaultProxy

__all__ = ["RateLimitProxy"]


class RateLimitProxy(FaultProxy):
    """``FaultProxy`` whose one rule is a budget: ``limit`` forwarded requests per second."""

    def __init__(self, upstream: str, limit: int, retry_after: int = 1) -> None:
        super().__init__(upstream)
        self.limit = limit
        self.retry_after = retry_after
        self._window: deque[float] = deque()  # arrivals forwarded in the last second
        self._budget_lock = threading.Lock()

    def _pick(self, method: str, target: str, phase: str, body: int | None = None) -> Fault | None:
        if phase != "status":
            return super()._pick(method, target, phase, body)
        with self._budget_lock:
            now = time.monotonic()
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.limit:
                return Fault("status", status=429, retry_after=str(self.retry_after))
            self._window.append(now)
        return super()._pick(method, target, phase, body)

    # -- what happened -------------------------------------------------------------------

    def requests(self) -> list[Exchange]:
        """Every request that arrived, in order of arrival."""
        return sorted(self.exchanges(), key=lambda x: x.started)

    def forwarded(self) -> list[Exchange]:
        """The requests that reached the registry."""
        return [x for x in self.requests() if x.fault is None]

    def refused(self) -> list[Exchange]:
        """The requests answered 429 by the proxy."""
        return [x for x in self.requests() if x.fault == "status" and x.status == 429]

    def peak_rate(self, window: float = 1.0) -> int:
        """The most requests (refused ones included) that arrived within any ``window``."""
        times = [x.started for x in self.requests()]
        peak, first = 0, 0
        for last, arrived in enumerate(times):
            while arrived - times[first] >= window:
                first += 1
            peak = max(peak, last - first + 1)
        return peak

    def mean_rate(self) -> float:
        """Requests per second from the first arrival to the last."""
        times = [x.started for x in self.requests()]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def refusal_bursts(self) -> list[int]:
        """The refusals grouped by throttling episode (a refusal more than ``Retry-After``
        after the first of the current episode starts the next): each episode's count."""
        bursts: list[tuple[float, int]] = []
        for refusal in self.refused():
            if bursts and refusal.started < bursts[-1][0] + self.retry_after:
                bursts[-1] = (bursts[-1][0], bursts[-1][1] + 1)
            else:
                bursts.append((refusal.started, 1))
        return [count for _, count in bursts]

    def early_after_refusal(self, grace: float = 0.15) -> list[Exchange]:
        """Requests that arrived while a refusal's ``Retry-After`` was running, more than
        ``grace`` seconds after it (ones sent before the client heard it are in flight)."""
        times = [x.started for x in self.refused()]
        return [
            x
            for x in self.requests()
            if any(t + grace < x.started < t + self.retry_after for t in times)
        ]
