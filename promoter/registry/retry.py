"""What is retried, and how long to wait: a table, never a catch-all.

Retryable: connection resets and refusals, timeouts, protocol breaks, HTTP
408, 429 and 5xx, and the OCI error code ``TOOMANYREQUESTS``. Waits grow
exponentially with full jitter, honour ``Retry-After``, and are bounded both
in attempts and in total time.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

__all__ = [
    "RETRYABLE_CODES",
    "RETRYABLE_EXCEPTIONS",
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "parse_retry_after",
]

#: HTTP statuses worth another attempt.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: OCI error codes worth another attempt, whatever the status.
RETRYABLE_CODES = frozenset({"TOOMANYREQUESTS"})
#: Names of httpx exception classes worth another attempt (names keep httpx a lazy import).
RETRYABLE_EXCEPTIONS = frozenset(
    {
        "ConnectError",
        "ConnectTimeout",
        "ReadError",
        "ReadTimeout",
        "WriteError",
        "WriteTimeout",
        "PoolTimeout",
        "RemoteProtocolError",
        "CloseError",
    }
)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and backoff for retries."""

    max_attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 10.0
    total_time: float = 120.0

    def is_retryable_status(self, status: int, code: str | None = None) -> bool:
        """Whether an HTTP answer deserves another attempt."""
        return (
            status in RETRYABLE_STATUSES
            or (status >= 500 and status != 501)
            or (code in RETRYABLE_CODES)
        )

    def is_retryable_exception(self, error: BaseException) -> bool:
        """Whether a transport exception deserves another attempt (by class, from the table)."""
        return any(cls.__name__ in RETRYABLE_EXCEPTIONS for cls in type(error).__mro__)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """How long to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(retry_after, self.total_time)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def allows(self, attempt: int, started: float, wait: float) -> bool:
        """Whether another attempt after ``attempt`` fits the bounds."""
        if attempt >= self.max_attempts:
            return False
        return (time.monotonic() - started) + wait <= self.total_time
