"""What is retried, and how long to wait: one table and one backoff, never a catch-all.

Retryable: connection resets and refusals, timeouts, protocol breaks, HTTP
408, 429 and 5xx but 501 (not implemented: asking again will not implement
it), and the OCI error code ``TOOMANYREQUESTS``. Waits grow exponentially
with full jitter (``uniform(0, ceiling)``, so that many clients that failed
together do not retry together), honour ``Retry-After``, and are bounded both
in attempts and in total time.

Whether a whole operation that failed is worth running again is
``promoter.registry.transport.failures.is_retryable_error``, by this table.

Every retry of promoter goes through here: the request layer
(``promoter.registry.transport.layers.retry``), the resumed blob reads and uploads, the
copy engine's whole-blob restarts and the promotion's race re-runs each keep
an ``Attempts`` of a ``RetryPolicy`` and ask it for ``another()``.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable

from promoter.structs import struct

__all__ = [
    "RETRYABLE_CODES",
    "RETRYABLE_EXCEPTIONS",
    "RETRYABLE_STATUSES",
    "WAIT_NOTICE",
    "Attempts",
    "RetryPolicy",
    "is_retryable_status",
    "parse_retry_after",
]

#: HTTP statuses worth another attempt (and every 5xx but 501, see ``is_retryable_status``).
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: OCI error codes worth another attempt, whatever the status.
RETRYABLE_CODES = frozenset({"TOOMANYREQUESTS"})
#: Names of transport exception classes worth another attempt (``transport.wire``'s).
RETRYABLE_EXCEPTIONS = frozenset(
    {
        "ConnectError",
        "ConnectTimeout",
        "ReadError",
        "ReadTimeout",
        "WriteError",
        "WriteTimeout",
        "RemoteProtocolError",
    }
)


#: A wait longer than this many seconds is told (``on_wait``) as it starts.
WAIT_NOTICE = 3.0


def is_retryable_status(status: int, code: str | None = None) -> bool:
    """Whether an HTTP answer deserves another attempt."""
    return (
        status in RETRYABLE_STATUSES
        or (status >= 500 and status != 501)
        or (code in RETRYABLE_CODES)
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


@struct(frozen=True)
class RetryPolicy:
    """Bounds and backoff for retries."""

    max_attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 10.0
    total_time: float = 120.0

    def is_retryable_status(self, status: int, code: str | None = None) -> bool:
        """Whether an HTTP answer deserves another attempt (the module's table)."""
        return is_retryable_status(status, code)

    def is_retryable_exception(self, error: BaseException) -> bool:
        """Whether a transport exception deserves another attempt (by class, from the table)."""
        return any(cls.__name__ in RETRYABLE_EXCEPTIONS for cls in type(error).__mro__)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """How long to wait before attempt ``attempt + 1`` (``attempt`` counts from 1):
        ``Retry-After`` when the registry said, else full jitter below the ceiling."""
        if retry_after is not None:
            return min(retry_after, self.total_time)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0.0, ceiling)

    def allows(self, attempt: int, started: float, wait: float) -> bool:
        """Whether another attempt after ``attempt`` fits the bounds."""
        if attempt >= self.max_attempts:
            return False
        return (time.monotonic() - started) + wait <= self.total_time

    def start(self, on_retry: Callable[[], None] | None = None) -> Attempts:
        """The attempts of one operation starting now (``on_retry`` hears each retry)."""
        return Attempts(self, on_retry)


class Attempts:
    """One operation's attempts under a policy: counts them, bounds them, waits between.

    ``another()`` after each failed attempt: False when the bounds are spent,
    else True after waiting the backoff (or ``Retry-After``).
    """

    __slots__ = ("_on_retry", "failed", "policy", "started")

    def __init__(self, policy: RetryPolicy, on_retry: Callable[[], None] | None = None) -> None:
        self.policy = policy
        self.started = time.monotonic()
        self.failed = 0
        self._on_retry = on_retry

    def another(
        self,
        retry_after: float | None = None,
        *,
        limit: float | None = None,
        on_wait: Callable[[float], None] | None = None,
    ) -> bool:
        """Count a failed attempt; wait and return True when one more fits the bounds
        (and the wait fits ``limit`` seconds, when given). ``on_wait`` hears a wait
        longer than ``WAIT_NOTICE`` as it starts."""
        self.failed += 1
        wait = self.policy.delay(self.failed, retry_after)
        if not self.policy.allows(self.failed, self.started, wait):
            return False
        if limit is not None and wait > limit:
            return False
        if self._on_retry is not None:
            self._on_retry()
        if on_wait is not None and wait > WAIT_NOTICE:
            on_wait(wait)
        time.sleep(wait)
        return True
