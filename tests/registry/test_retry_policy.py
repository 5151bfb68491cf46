"""The one retry policy: its backoff is the full jitter it says, its table judges
operations' errors as it judges answers, and ``Attempts`` keeps its bounds."""

from __future__ import annotations

import time

import pytest

from promoter.errors import AuthError, NetworkError, RegistryError
from promoter.registry.access.retry import RetryPolicy
from promoter.registry.transport.failures import is_retryable_error


def test_the_backoff_is_full_jitter_below_the_ceiling() -> None:
    """``uniform(0, ceiling)``, as the module says: waits below half the ceiling too
    (equal jitter, ``uniform(ceiling / 2, ceiling)``, never goes there)."""
    policy = RetryPolicy(base_delay=1.0, max_delay=100.0)
    ceiling = 4.0  # attempt 3: 1.0 * 2 ** 2
    waits = [policy.delay(3) for _ in range(400)]
    assert all(0.0 <= w <= ceiling for w in waits)
    assert min(waits) < ceiling / 4
    assert max(waits) > ceiling * 3 / 4
    assert sum(w < ceiling / 2 for w in waits) > 100  # about half of them


def test_the_ceiling_grows_and_stops_at_max_delay() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0)
    assert max(policy.delay(1) for _ in range(200)) <= 0.5
    assert max(policy.delay(9) for _ in range(200)) <= 2.0
    assert policy.delay(9, retry_after=7.0) == 7.0  # the registry's word wins


@pytest.mark.parametrize(
    ("error", "worth_it"),
    [
        (NetworkError("reset"), True),
        (RegistryError("busy", status=503), True),
        (RegistryError("slow down", status=400, code="TOOMANYREQUESTS"), True),
        (RegistryError("not implemented", status=501), False),
        (AuthError("who are you", status=401), False),
        (RegistryError("bad digest", status=400, code="DIGEST_INVALID"), False),
        (RegistryError("no status"), False),
        (ValueError("not ours"), False),
    ],
)
def test_an_operations_error_is_judged_by_the_same_table(error: Exception, worth_it: bool) -> None:
    assert is_retryable_error(error) is worth_it


def test_attempts_wait_count_and_stop_at_the_bound() -> None:
    heard: list[int] = []
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01)
    attempts = policy.start(lambda: heard.append(1))
    assert attempts.another() and attempts.another()
    assert not attempts.another()  # the third failure was the last attempt
    assert len(heard) == 2


def test_attempts_stop_when_the_wait_would_pass_the_time_bound() -> None:
    attempts = RetryPolicy(max_attempts=10, total_time=1.0).start()
    started = time.monotonic()
    assert not attempts.another(retry_after=5.0)  # refused at once, no waiting
    assert time.monotonic() - started < 0.5
