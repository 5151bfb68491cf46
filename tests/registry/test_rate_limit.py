"""The request budget's pace, measured by a rate-limiting proxy in front of a real
registry: the pace holds across eight threads of one process, and a registry that
allows less than configured is heard (429 with Retry-After): the rate backs off,
every worker waits the Retry-After out, and every request still succeeds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from promoter.registry.client import RegistryClient
from promoter.registry.layers import RegistryRequest
from promoter.registry.options import RegistryOptions
from tests.support.rate_limit_proxy import RateLimitProxy
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


@pytest.fixture
def proxy20(registry: Registry) -> Iterator[RateLimitProxy]:
    with RateLimitProxy(registry.host, limit=20) as proxy:
        yield proxy


def _hammer(client: RegistryClient, threads: int, each: int) -> list[BaseException]:
    """``threads`` workers sending ``each`` small requests as fast as they are let."""
    failures: list[BaseException] = []

    def work() -> None:
        for _ in range(each):
            try:
                client.transport.send(RegistryRequest("GET", "/v2/", action="ping"))
            except Exception as error:  # collected for the assertion
                failures.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return failures


def _client(proxy: RateLimitProxy, **options: object) -> RegistryClient:
    """A client of the proxy's registry whose scheme is already known (not counted)."""
    client = RegistryClient(
        proxy.host, RegistryOptions(insecure_registries=frozenset({proxy.host}), **options)
    )
    client.transport.base_url()
    time.sleep(1.0)  # the discovery's requests leave the proxy's window
    proxy.reset_counters()
    return client


def test_the_pace_holds_across_eight_threads(proxy20: RateLimitProxy) -> None:
    client = _client(proxy20, requests_per_second=20)
    try:
        assert _hammer(client, threads=8, each=10) == []
    finally:
        client.close()
    arrived = proxy20.requests()
    assert len(arrived) == 80
    assert proxy20.refused() == []
    assert proxy20.peak_rate() <= 20
    # Demand exceeds the limit: the pace is the limit, not much less.
    assert 0.85 * 20 <= proxy20.mean_rate() <= 20 * 1.05


def test_a_limit_above_the_registrys_backs_off_and_waits_out_retry_after(
    proxy20: RateLimitProxy,
) -> None:
    client = _client(proxy20, requests_per_second=60)
    try:
        assert _hammer(client, threads=8, each=10) == []  # every refusal was retried
        limiter = client.transport.limiter
        assert limiter.decreases >= 1 and limiter.throttled == len(proxy20.refused())
    finally:
        client.close()
    refused = proxy20.refused()
    assert 1 <= len(refused) <= 12, len(refused)
    assert len(proxy20.forwarded()) == 80
    # While a Retry-After runs, nothing new is sent (beyond what was already in flight).
    assert proxy20.early_after_refusal() == []


def test_without_a_limit_a_refusal_still_paces_the_whole_process(
    proxy20: RateLimitProxy,
) -> None:
    client = _client(proxy20)
    try:
        assert _hammer(client, threads=8, each=10) == []
        limiter = client.transport.limiter
        assert limiter.limit is None and limiter.decreases >= 1
    finally:
        client.close()
    assert len(proxy20.forwarded()) == 80
    # Without the shared pace each of the eight workers would be refused again and
    # again; with it, a refusal holds all of them and the pace starts below the limit.
    assert 1 <= len(proxy20.refused()) <= 20, len(proxy20.refused())
    assert proxy20.early_after_refusal() == []
