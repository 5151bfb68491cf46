"""The request budget's pace, measured by a rate-limiting proxy in front of a real
registry: the pace holds across eight threads of one process, and a registry that
allows less than configured is heard (429 with Retry-After): the rate backs off,
every worker waits the Retry-After out, and every request still succeeds.
The pace holds on a busy machine too: a request is counted when it is written
to the socket, not when its turn came."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator

import pytest

from promoter.registry.access.options import RegistryOptions
from promoter.registry.remote.client import RegistryClient
from promoter.registry.transport.layers import RegistryRequest
from promoter.registry.transport.ratelimit import SEND_MARGIN, RateLimiter
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


def _spin(seconds: float) -> None:
    """A busy loop (in a process of its own) for at most ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.fixture
def busy_machine() -> Iterator[None]:
    """Two processes spinning on the CPU beside the test, killed when it ends."""
    context = multiprocessing.get_context("spawn")
    spinners = [context.Process(target=_spin, args=(60.0,), daemon=True) for _ in range(2)]
    for spinner in spinners:
        spinner.start()
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.join(10)


def test_the_pace_holds_across_eight_threads_on_a_busy_machine(
    proxy20: RateLimitProxy, busy_machine: None
) -> None:
    """Workers woken late from their turns would send together; at the socket write
    they are held to the window, so the registry never sees more than 20 in a second."""
    client = _client(proxy20, requests_per_second=20)
    try:
        assert _hammer(client, threads=8, each=10) == []
    finally:
        client.close()
    assert len(proxy20.requests()) == 80
    assert proxy20.refused() == []
    assert proxy20.peak_rate() <= 20
    assert proxy20.mean_rate() >= 0.7 * 20  # paced, not stalled


class _Clock:
    """A clock that moves only when slept on (or told to)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_sent_late_are_held_to_the_window_of_those_really_sent() -> None:
    """Turns long past (workers woken late) do not let four requests go at once: at a
    rate of 2, at most 2 go in any window of 1 + SEND_MARGIN seconds, by send time."""
    clock = _Clock()
    limiter = RateLimiter(2.0, clock=clock, sleep=clock.sleep)
    moments = []
    for _ in range(5):
        limiter.sending()
        moments.append(clock.now)
    window = 1.0 + SEND_MARGIN
    assert moments == pytest.approx([100.0, 100.0, 100.0 + window, 100.0 + window, 102.2])
    for i in range(len(moments) - 2):
        assert moments[i + 2] - moments[i] >= window - 1e-9


def test_below_one_a_second_one_request_goes_per_stretched_window() -> None:
    clock = _Clock()
    limiter = RateLimiter(0.5, clock=clock, sleep=clock.sleep)
    assert limiter.sending() == 0.0
    clock.now += 0.5  # a worker whose turn was computed long ago sends now
    assert limiter.sending() == pytest.approx((1.0 + SEND_MARGIN) / 0.5 - 0.5)


@pytest.mark.parametrize("limit", [0.0, -1.0, float("nan"), float("inf")])
def test_a_rate_limit_is_a_positive_finite_number(limit: float) -> None:
    with pytest.raises(ValueError, match="positive number"):
        RateLimiter(limit)


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
