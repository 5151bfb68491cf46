"""Challenge parsing and the retry table, on their own."""

from __future__ import annotations

import email.utils
import time

from promoter.registry.access.retry import RetryPolicy, parse_retry_after
from promoter.registry.transport import wire
from promoter.registry.transport.challenge import parse_challenge


def test_bearer_challenge() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"'
    )
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.example/token"
    assert challenge.service == "registry.example"
    assert challenge.scopes == ("repository:a/b:pull,push", "repository:c:pull")
    assert challenge.insufficient_scope


def test_basic_challenge_and_escapes() -> None:
    challenge = parse_challenge('Basic realm="say \\"hi\\""')
    assert challenge is not None and challenge.scheme == "basic"
    assert challenge.realm == 'say "hi"'
    assert parse_challenge("") is None
    assert parse_challenge(None) is None


def test_retry_table() -> None:
    policy = RetryPolicy()
    for status in (408, 429, 500, 502, 503, 504):
        assert policy.is_retryable_status(status)
    assert policy.is_retryable_status(400, "TOOMANYREQUESTS")
    for status in (400, 401, 403, 404, 501):
        assert not policy.is_retryable_status(status)
    assert policy.is_retryable_exception(wire.ReadTimeout("x"))
    assert policy.is_retryable_exception(wire.ConnectError("x"))
    assert policy.is_retryable_exception(wire.RemoteProtocolError("x"))
    assert not policy.is_retryable_exception(wire.UnsupportedProtocol("x"))
    assert not policy.is_retryable_exception(ValueError("x"))


def test_backoff_is_bounded_and_jittered() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4)
    delays = [policy.delay(attempt) for attempt in range(1, 10)]
    assert all(0 < d <= 4 for d in delays)
    assert policy.delay(1) <= 0.5
    assert policy.delay(3, retry_after=7.0) == 7.0
    started = time.monotonic()
    assert policy.allows(1, started, 1.0)
    assert not policy.allows(policy.max_attempts, started, 0.0)
    assert not RetryPolicy(total_time=1).allows(1, started, 2.0)


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    now = time.time()
    date = email.utils.formatdate(now + 10, usegmt=True)
    parsed = parse_retry_after(date, now=now)
    assert parsed is not None and 8 <= parsed <= 11
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
