"""SIGINT (and SIGTERM) at several moments of a real promotion across registries.

Before the tag phase: no tag and no record anywhere, exit 130, the output says
what was not done. During the tag phase (the commit point): it is finished,
every tag is written, exit 130. A second interrupt stops at once. The
production registries are read back each time; the next run completes.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.promote.conftest import make_project  # noqa: F401 (a fixture)
from tests.promote.project import (
    Project,
    head_digest,
    promoter_cli,
    start_promotion,
    upload_stall,
)
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def _wait_for(proxy: FaultProxy, victim: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and victim.poll() is None:
        if any(e.fault == "stall" and e.fired for e in proxy.exchanges()):
            return
        time.sleep(0.05)
    raise AssertionError("the promotion never reached the stalled request")


def _referrers(registry: Registry, digest: str) -> list[object]:
    answer = httpx.get(f"{registry.url}/v2/web/referrers/{digest}")
    if answer.status_code != 200:
        return []
    return list(answer.json().get("manifests", []))


@dataclass
class Interrupted:
    """How an interrupted promotion ended: exit code, stderr, seconds after the last signal."""

    returncode: int
    err: str
    seconds: float


@dataclass
class Setup:
    """A project whose second production (``far``) is reached through a fault proxy."""

    project: Project
    far: Registry
    proxy: FaultProxy

    def interrupt(self, *signums: int, timeout: float = 60) -> Interrupted:
        """Start the promotion, wait for the stalled request, send ``signums`` half a second
        apart, and wait for the end; the proxy's faults are cleared afterwards."""
        victim = start_promotion(self.project)
        _wait_for(self.proxy, victim)
        started = time.monotonic()
        for number, signum in enumerate(signums):
            if number:
                time.sleep(0.5)
            started = time.monotonic()
            victim.send_signal(signum)
        _out, err = victim.communicate(timeout=timeout)
        seconds = time.monotonic() - started
        self.proxy.clear_faults()
        return Interrupted(victim.returncode, err, seconds)

    def assert_untouched(self, digest: str) -> None:
        """No tag and no promotion record at either production."""
        for registry in (self.project.prod_a, self.far):
            assert head_digest(registry, "web", "1.2.3") is None
            assert head_digest(registry, "web", "latest") is None
            assert _referrers(registry, digest) == []  # no promotion record

    def assert_promoted(self, digest: str, *tags: str) -> None:
        """``tags`` of web are at ``digest`` at both productions."""
        for registry in (self.project.prod_a, self.far):
            for tag in tags:
                assert head_digest(registry, "web", tag) == digest


@pytest.fixture
def proxied(
    make_project: Callable[..., Project],  # noqa: F811
    registry_factory: Callable[..., Registry],
) -> Iterator[Setup]:
    """prod-b behind a fault proxy, for the whole test."""
    far = registry_factory()
    with FaultProxy(far.host) as proxy:
        yield Setup(make_project(hosts={"prod-b": proxy.host}), far, proxy)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_during_the_copy_writes_no_tag_and_no_record(
    proxied: Setup, signum: int
) -> None:
    image = proxied.project.seed(layer_sizes=(400_000, 300_000, 200_000))
    proxied.proxy.add(upload_stall(2))  # prod-b's uploads pause 2 s: slow, not dead
    done = proxied.interrupt(signum)
    assert done.returncode == 130, done.err
    assert "stopping before the tag phase, no tag will be written" in done.err
    assert "error: interrupted: the promotion stopped at its commit point" in done.err
    assert "not done: web: interrupted: interrupted before the tag phase" in done.err
    assert "done: nothing" in done.err
    assert "Traceback" not in done.err
    proxied.assert_untouched(image.digest)

    again = promoter_cli("run", "--stage", "check,promote", "-f", str(proxied.project.file))
    assert again.returncode == 0, again.stderr
    proxied.assert_promoted(image.digest, "1.2.3")


def test_an_interrupt_during_the_tag_phase_finishes_it(proxied: Setup) -> None:
    image = proxied.project.seed()
    # The tag PUT at prod-b (the commit point) takes 3 s.
    proxied.proxy.add(
        Fault(
            "stall",
            method="PUT",
            path=r"/v2/web/manifests/(1\.2\.3|latest)$",
            during="request",
            seconds=3,
            times=1,
        )
    )
    done = proxied.interrupt(signal.SIGINT)
    assert done.returncode == 130, done.err
    assert "finishing the tag phase of web" in done.err
    assert "done: web: promoted:" in done.err
    assert "interrupted during the tag phase: the tag phase was finished" in done.err
    proxied.assert_promoted(image.digest, "1.2.3", "latest")


def test_a_second_interrupt_stops_at_once(proxied: Setup) -> None:
    image = proxied.project.seed(layer_sizes=(400_000,))
    proxied.proxy.add(upload_stall(60))  # hangs a minute: only a second interrupt ends the wait
    done = proxied.interrupt(signal.SIGINT, signal.SIGINT, timeout=30)
    assert done.seconds < 5
    assert done.returncode == 130, done.err
    assert "SIGINT again: stopped at once" in done.err
    proxied.assert_untouched(image.digest)


def test_an_interrupt_before_the_promotion_is_exit_130_and_writes_nothing(proxied: Setup) -> None:
    image = proxied.project.seed()
    # Planning asks prod-b for the tags: one answer takes 5 s. An interrupt then
    # unwinds once the reads in flight end (a second one would not wait).
    proxied.proxy.add(
        Fault(
            "stall",
            method="HEAD",
            path=r"/v2/web/manifests/",
            during="response",
            seconds=5,
            times=1,
        )
    )
    done = proxied.interrupt(signal.SIGINT)
    assert done.returncode == 130, done.err
    assert "interrupted" in done.err
    proxied.assert_untouched(image.digest)
