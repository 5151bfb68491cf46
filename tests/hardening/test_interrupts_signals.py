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
from collections.abc import Callable

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


def _untouched(project: Project, far: Registry, digest: str) -> None:
    for registry in (project.prod_a, far):
        assert head_digest(registry, "web", "1.2.3") is None
        assert head_digest(registry, "web", "latest") is None
        assert _referrers(registry, digest) == []  # no promotion record


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_during_the_copy_writes_no_tag_and_no_record(
    make_project: Callable[..., Project],  # noqa: F811
    registry_factory: Callable[..., Registry],
    signum: int,
) -> None:
    far = registry_factory()
    with FaultProxy(far.host) as proxy:
        project = make_project(hosts={"prod-b": proxy.host})
        image = project.seed(layer_sizes=(400_000, 300_000, 200_000))
        proxy.add(upload_stall(2))  # prod-b's uploads pause 2 s: slow, not dead
        victim = start_promotion(project)
        _wait_for(proxy, victim)
        victim.send_signal(signum)
        _out, err = victim.communicate(timeout=60)
        proxy.clear_faults()
        assert victim.returncode == 130, err
        assert "stopping before the tag phase, no tag will be written" in err
        assert "error: interrupted: the promotion stopped at its commit point" in err
        assert "not done: web: interrupted: interrupted before the tag phase" in err
        assert "done: nothing" in err
        assert "Traceback" not in err
        _untouched(project, far, image.digest)

        again = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert again.returncode == 0, again.stderr
        for registry in (project.prod_a, far):
            assert head_digest(registry, "web", "1.2.3") == image.digest


def test_an_interrupt_during_the_tag_phase_finishes_it(
    make_project: Callable[..., Project],  # noqa: F811
    registry_factory: Callable[..., Registry],
) -> None:
    far = registry_factory()
    with FaultProxy(far.host) as proxy:
        project = make_project(hosts={"prod-b": proxy.host})
        image = project.seed()
        # The tag PUT at prod-b (the commit point) takes 3 s.
        proxy.add(
            Fault(
                "stall",
                method="PUT",
                path=r"/v2/web/manifests/(1\.2\.3|latest)$",
                during="request",
                seconds=3,
                times=1,
            )
        )
        victim = start_promotion(project)
        _wait_for(proxy, victim)
        victim.send_signal(signal.SIGINT)
        _out, err = victim.communicate(timeout=60)
        assert victim.returncode == 130, err
        assert "finishing the tag phase of web" in err
        assert "done: web: promoted:" in err
        assert "interrupted during the tag phase: the tag phase was finished" in err
        for registry in (project.prod_a, far):
            assert head_digest(registry, "web", "1.2.3") == image.digest
            assert head_digest(registry, "web", "latest") == image.digest


def test_a_second_interrupt_stops_at_once(
    make_project: Callable[..., Project],  # noqa: F811
    registry_factory: Callable[..., Registry],
) -> None:
    far = registry_factory()
    with FaultProxy(far.host) as proxy:
        project = make_project(hosts={"prod-b": proxy.host})
        image = project.seed(layer_sizes=(400_000,))
        proxy.add(upload_stall(60))  # hangs a minute: only a second interrupt ends the wait
        victim = start_promotion(project)
        _wait_for(proxy, victim)
        victim.send_signal(signal.SIGINT)
        time.sleep(0.5)
        started = time.monotonic()
        victim.send_signal(signal.SIGINT)
        _out, err = victim.communicate(timeout=30)
        assert time.monotonic() - started < 5
        proxy.clear_faults()
        assert victim.returncode == 130, err
        assert "SIGINT again: stopped at once" in err
        _untouched(project, far, image.digest)


def test_an_interrupt_before_the_promotion_is_exit_130_and_writes_nothing(
    make_project: Callable[..., Project],  # noqa: F811
    registry_factory: Callable[..., Registry],
) -> None:
    far = registry_factory()
    with FaultProxy(far.host) as proxy:
        project = make_project(hosts={"prod-b": proxy.host})
        image = project.seed()
        # Planning asks prod-b for the tags: one answer takes 5 s. An interrupt then
        # unwinds once the reads in flight end (a second one would not wait).
        proxy.add(
            Fault(
                "stall",
                method="HEAD",
                path=r"/v2/web/manifests/",
                during="response",
                seconds=5,
                times=1,
            )
        )
        victim = start_promotion(project)
        _wait_for(proxy, victim)
        victim.send_signal(signal.SIGINT)
        _out, err = victim.communicate(timeout=60)
        proxy.clear_faults()
        assert victim.returncode == 130, err
        assert "interrupted" in err
        _untouched(project, far, image.digest)
