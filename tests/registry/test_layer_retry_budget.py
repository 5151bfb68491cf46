"""The retry and budget layers alone. Their faults (a 503 on demand, a reset, a
registry that holds a request open) come from a scripted handler below the
layer; the budget's streamed slot is held against a real registry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from promoter.registry.access.retry import RetryPolicy
from promoter.registry.transport import wire
from promoter.registry.transport.connections import Connections
from promoter.registry.transport.layers import Exchange, RegistryRequest, RequestBudget, RetryFlow
from promoter.registry.transport.stats import TransportStats
from tests.support.fault_transport import connections
from tests.support.registry import Registry

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02, total_time=10)
URL = "https://registry.invalid/v2/a/manifests/1"
Step = Callable[[RegistryRequest], wire.Response]


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Step:
    def answer(request: RegistryRequest) -> wire.Response:
        return wire.Response(
            code,
            content=body,
            headers=headers,
            request=wire.Request(request.method, request.url),
        )

    return answer


def fail(error: type[wire.TransportError], text: str = "injected") -> Step:
    def raise_(request: RegistryRequest) -> wire.Response:
        raise error(text)

    return raise_


@dataclass
class Scripted:
    """A handler below the layer: plays ``steps`` in order, the last one forever."""

    steps: list[Step]
    calls: list[RegistryRequest] = field(default_factory=list)

    def handle(self, request: RegistryRequest) -> wire.Response:
        self.calls.append(request)
        return self.steps[min(len(self.calls), len(self.steps)) - 1](request)


def retried(*steps: Step, policy: RetryPolicy = FAST) -> tuple[RetryFlow, Scripted, TransportStats]:
    below, stats = Scripted(list(steps)), TransportStats()
    return RetryFlow(below, policy, stats), below, stats


# -- retries --------------------------------------------------------------------


def test_transient_answers_and_resets_are_retried_and_counted() -> None:
    flow, below, stats = retried(
        status(503), fail(wire.ConnectError), status(502), status(200, b"{}")
    )
    assert flow.handle(RegistryRequest("GET", URL)).status_code == 200
    assert len(below.calls) == 4 and stats.retries == 3


@pytest.mark.parametrize("code", [400, 401, 403, 404, 501])
def test_answers_outside_the_table_are_not_retried(code: int) -> None:
    flow, below, stats = retried(status(code), status(200))
    assert flow.handle(RegistryRequest("GET", URL)).status_code == code
    assert len(below.calls) == 1 and stats.retries == 0


def test_an_oci_toomanyrequests_code_is_retried_whatever_the_status() -> None:
    busy = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
    flow, below, _ = retried(status(400, busy), status(200))
    assert flow.handle(RegistryRequest("GET", URL)).status_code == 200
    assert len(below.calls) == 2


def test_retry_after_is_waited_for() -> None:
    flow, _, _ = retried(status(429, headers={"Retry-After": "0.3"}), status(200))
    started = time.monotonic()
    assert flow.handle(RegistryRequest("GET", URL)).status_code == 200
    assert time.monotonic() - started >= 0.3  # not the 10 ms backoff


def test_the_bound_returns_the_last_answer_or_raises_the_last_error() -> None:
    flow, below, _ = retried(status(503))
    assert flow.handle(RegistryRequest("GET", URL)).status_code == 503
    assert len(below.calls) == FAST.max_attempts
    flow, below, _ = retried(fail(wire.ReadTimeout))
    with pytest.raises(wire.ReadTimeout):
        flow.handle(RegistryRequest("GET", URL))
    assert len(below.calls) == FAST.max_attempts


def test_tls_failures_and_untabled_errors_go_up_at_once() -> None:
    flow, below, _ = retried(fail(wire.ConnectError, "[SSL: CERTIFICATE_VERIFY_FAILED] no"))
    with pytest.raises(wire.ConnectError):
        flow.handle(RegistryRequest("GET", URL))
    assert len(below.calls) == 1
    flow, below, _ = retried(fail(wire.UnsupportedProtocol))
    with pytest.raises(wire.UnsupportedProtocol):
        flow.handle(RegistryRequest("GET", URL))
    assert len(below.calls) == 1


def test_expected_statuses_unreplayable_bodies_and_retry_false_go_once() -> None:
    for request in (
        RegistryRequest("GET", URL, expect=(200, 503)),
        RegistryRequest("PATCH", URL, content=iter([b"x"])),
        RegistryRequest("GET", URL, retry=False),
    ):
        flow, below, _ = retried(status(503), status(200))
        assert flow.handle(request).status_code == 503
        assert len(below.calls) == 1


# -- the request budget -----------------------------------------------------------


@dataclass
class Holding:
    """A registry that holds every request until ``release`` is set; counts those in flight."""

    release: threading.Event = field(default_factory=threading.Event)
    in_flight: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: RegistryRequest) -> wire.Response:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        self.release.wait(10)
        with self.lock:
            self.in_flight -= 1
        return status(200)(request)


def _in_threads(budget: RequestBudget, methods: list[str]) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=budget.handle, args=(RegistryRequest(m, URL),)) for m in methods
    ]
    for thread in threads:
        thread.start()
    return threads


def test_reads_and_writes_are_bounded_separately() -> None:
    holding = Holding()
    budget = RequestBudget(holding, max_concurrency=2)
    threads = _in_threads(budget, ["GET"] * 5 + ["PUT"] * 5)
    deadline = time.monotonic() + 5
    while holding.in_flight < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert holding.in_flight == 4  # two reads and two writes, no more
    holding.release.set()
    for thread in threads:
        thread.join(10)
    assert holding.most == 4


@pytest.fixture
def client() -> Iterator[Connections]:
    opened = connections()
    try:
        yield opened
    finally:
        opened.close()


def test_a_streamed_answer_holds_its_slot_until_closed(
    registry: Registry, client: Connections
) -> None:
    budget = RequestBudget(Exchange(lambda: client, TransportStats()), max_concurrency=1)
    ping = f"{registry.url}/v2/"
    streamed = budget.handle(RegistryRequest("GET", ping, stream=True))
    second: list[int] = []
    waiting = threading.Thread(
        target=lambda: second.append(budget.handle(RegistryRequest("GET", ping)).status_code)
    )
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive() and not second  # the one read slot is the stream's
    streamed.read()  # read to the end: closed, slot given back
    waiting.join(10)
    assert second == [200]
    with budget.slot("GET"):  # and the slot is free again, once
        pass


def test_a_failure_below_gives_the_slot_back() -> None:
    budget = RequestBudget(Scripted([fail(wire.ConnectError)]), max_concurrency=1)
    for _ in range(3):
        with pytest.raises(wire.ConnectError):
            budget.handle(RegistryRequest("GET", URL, stream=True))
