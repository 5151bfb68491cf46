"""Faults through the injecting proxy: each copy completes with the right digest, or fails
with exit 3 within its bound, and never leaves a destination tag on missing content."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from promoter.errors import OperationError
from promoter.registry.access.options import RegistryOptions
from promoter.registry.access.retry import RetryPolicy
from promoter.registry.remote.pipe import PIPE_MIN_SIZE
from promoter.transfer import CopyOptions, CopyResult, copy_image
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.images import Image, make_image, push_http
from tests.support.registry import Registry
from tests.transfer.conftest import CliRun
from tests.transfer.test_copy_registry import manifest_digest

Repo = Callable[[str], str]
Promoter = Callable[..., CliRun]

BLOB = r"/blobs/sha256:"
UPLOADS = r"/blobs/uploads/"


def fast_options(**overrides: object) -> RegistryOptions:
    """Short bounds so the failing cases end quickly."""
    retry = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.5, total_time=20)
    return RegistryOptions(retry=retry, stall_timeout=1.0, connect_timeout=5.0, **overrides)  # type: ignore[arg-type]


@pytest.fixture(params=["streamed", "piped"])
def seeded(registry: Registry, repo: Repo, request: pytest.FixtureRequest) -> tuple[str, Image]:
    """An image in the session registry; returns its repository and the image.

    ``streamed``: 3 MiB, every blob through the regular client. ``piped``: its
    first layer is large enough for the registry-to-registry pipe, so each
    fault also hits the pipe and its fallback.
    """
    first = 2_000_000 if request.param == "streamed" else PIPE_MIN_SIZE + 100_000
    image = make_image(layer_sizes=[first, 1_000_000], seed=repo("seed"))
    src = repo("staging")
    push_http(image, registry.url, src, "1")
    return src, image


def copy_via(source: str, destination: str, **overrides: object) -> CopyResult:
    return copy_image(
        source, destination, options=CopyOptions(jobs=2), registry_options=fast_options(**overrides)
    )


@pytest.mark.parametrize(
    ("where", "fault"),
    [
        ("source", Fault("reset", method="GET", path=BLOB, after_bytes=300_000, times=2)),
        ("source", Fault("truncate", method="GET", path=BLOB, after_bytes=500_000, times=2)),
        ("source", Fault("stall", method="GET", path=BLOB, after_bytes=100_000, seconds=30)),
        ("source", Fault("status", method="GET", path=BLOB, status=500, times=2)),
        ("destination", Fault("reset", path=UPLOADS, during="request", after_bytes=400_000)),
        ("destination", Fault("status", method="POST", path=UPLOADS, status=503, times=3)),
        ("destination", Fault("status", method="PUT", path=r"/manifests/", status=502, times=2)),
        ("destination", Fault("reset", method="HEAD", path=r"/manifests/", times=2)),
    ],
    ids=lambda v: v if isinstance(v, str) else f"{v.kind}-{v.method}-{v.status}",
)
def test_transient_faults_are_retried_to_the_right_digest(
    where: str,
    fault: Fault,
    seeded: tuple[str, Image],
    proxy: FaultProxy,
    other_registry: Registry,
    other_proxy: FaultProxy,
    repo: Repo,
) -> None:
    src, image = seeded
    dst = repo("prod")
    armed = (proxy if where == "source" else other_proxy).add(fault)
    started = time.monotonic()

    result = copy_via(f"{proxy.host}/{src}:1", f"{other_proxy.host}/{dst}:1")

    assert armed.fired >= 1, "the fault never hit: the test proves nothing"
    assert result.digest == image.digest
    assert time.monotonic() - started < 30
    assert manifest_digest(other_registry.host, dst, "1") == image.digest


def test_429_retry_after_is_honoured(
    seeded: tuple[str, Image], proxy: FaultProxy, other_registry: Registry,
    other_proxy: FaultProxy, repo: Repo,
) -> None:  # fmt: skip
    src, image = seeded
    dst = repo("prod")
    armed = other_proxy.add(
        Fault("status", method="POST", path=UPLOADS, status=429, retry_after="1")
    )
    started = time.monotonic()

    result = copy_via(f"{proxy.host}/{src}:1", f"{other_proxy.host}/{dst}:1")

    assert armed.fired == 1
    assert time.monotonic() - started >= 1.0  # waited as told, not the 50 ms backoff
    assert result.digest == image.digest


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", method="POST", path=UPLOADS, status=503, times=None),
        Fault("reset", path=UPLOADS, during="request", after_bytes=100_000, times=None),
        Fault("status", method="PUT", path=r"/manifests/", status=500, times=None),
    ],
    ids=["503-forever", "reset-every-upload", "manifest-500-forever"],
)
def test_persistent_faults_fail_within_bound_and_leave_no_tag(
    fault: Fault,
    seeded: tuple[str, Image],
    proxy: FaultProxy,
    other_registry: Registry,
    other_proxy: FaultProxy,
    repo: Repo,
) -> None:
    src, image = seeded
    dst = repo("prod")
    other_proxy.add(fault)
    started = time.monotonic()

    with pytest.raises(OperationError):
        copy_via(f"{proxy.host}/{src}:1", f"{other_proxy.host}/{dst}:1")

    assert time.monotonic() - started < 60
    assert manifest_digest(other_registry.host, dst, "1") is None
    assert manifest_digest(other_registry.host, dst, image.digest) is None
    # The next run, once the fault is gone, completes.
    other_proxy.clear_faults()
    assert copy_via(f"{proxy.host}/{src}:1", f"{other_proxy.host}/{dst}:1").digest == image.digest
    assert manifest_digest(other_registry.host, dst, "1") == image.digest


def test_cli_exits_3_when_the_destination_keeps_failing(
    seeded: tuple[str, Image], proxy: FaultProxy, other_registry: Registry,
    other_proxy: FaultProxy, repo: Repo, promoter: Promoter,
) -> None:  # fmt: skip
    src, _image = seeded
    dst = repo("prod")
    other_proxy.add(Fault("status", path=UPLOADS, status=503, times=None))
    started = time.monotonic()

    run = promoter("copy", "-q", f"{proxy.host}/{src}:1", f"{other_proxy.host}/{dst}:1")

    assert run.code == 3, run.stderr
    assert run.stderr.startswith("error: ")
    assert "503" in run.stderr.splitlines()[0]
    assert "Traceback" not in run.stderr
    assert time.monotonic() - started < 90
    assert manifest_digest(other_registry.host, dst, "1") is None


def test_destination_restart_mid_copy_is_survived(
    seeded: tuple[str, Image],
    proxy: FaultProxy,
    registry_factory: Callable[..., Registry],
    repo: Repo,
) -> None:
    src, image = seeded
    destination = registry_factory()
    dst = repo("prod")
    # Hold the first blob read for a while, so the restart lands mid-copy.
    held = proxy.add(Fault("stall", method="GET", path=BLOB, after_bytes=200_000, seconds=1.5))
    retry = RetryPolicy(max_attempts=12, base_delay=0.1, max_delay=1.0, total_time=60)
    outcome: list[CopyResult | BaseException] = []

    def copy() -> None:
        try:
            outcome.append(
                copy_image(
                    f"{proxy.host}/{src}:1",
                    f"{destination.host}/{dst}:1",
                    options=CopyOptions(jobs=2),
                    registry_options=RegistryOptions(retry=retry, stall_timeout=5.0),
                )
            )
        except BaseException as error:  # reported below, with its type
            outcome.append(error)

    worker = threading.Thread(target=copy)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive(), "the copy ended before the restart: the test proves nothing"
    destination.restart()
    worker.join(90)

    assert held.fired == 1
    assert len(outcome) == 1
    result = outcome[0]
    assert isinstance(result, CopyResult), repr(result)
    assert result.digest == image.digest
    assert manifest_digest(destination.host, dst, "1") == image.digest
