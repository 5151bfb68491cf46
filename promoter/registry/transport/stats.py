"""Counters of a registry transport, for reports, benchmarks and tests."""

from __future__ import annotations

import threading

from promoter.structs import field, struct

__all__ = ["TransportStats"]


@struct
class TransportStats:
    """Counters for reports and tests: requests sent, blob bytes moved, retries."""

    requests: int = 0
    retries: int = 0
    bytes_downloaded: int = 0
    bytes_uploaded: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, method: str) -> None:
        with self._lock:
            self.requests += 1
            self.by_method[method] = self.by_method.get(method, 0) + 1

    def add(self, *, downloaded: int = 0, uploaded: int = 0, retries: int = 0) -> None:
        with self._lock:
            self.bytes_downloaded += downloaded
            self.bytes_uploaded += uploaded
            self.retries += retries

    def count_retry(self) -> None:
        """One more request or read sent again."""
        self.add(retries=1)
