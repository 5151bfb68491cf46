"""``--jobs`` bounds how many blobs a copy writes at once (the registry's own
bound on concurrent requests is separate and larger)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from promoter.registry.access.options import RegistryOptions
from promoter.registry.transport import wire
from promoter.registry.transport.wire import Sender
from promoter.transfer import CopyOptions, copy_image
from tests.support.fault_transport import FaultTransport, Rule
from tests.support.images import make_image, push_http
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


class _Overlap:
    """Counts blob uploads in flight; each is held a moment so overlaps show."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __call__(self, request: wire.Request, inner: Sender) -> wire.Response:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.05)
            return inner.send(request)
        finally:
            with self.lock:
                self.now -= 1


@pytest.mark.parametrize("jobs", [1, 2, 6])
def test_jobs_bounds_blob_writes_in_flight(
    registry: Registry, other_registry: Registry, repo: Callable[[str], str], jobs: int
) -> None:
    image = make_image(layer_sizes=[20_000] * 6, seed=repo("jobs"))
    source = repo("jobs-src")
    push_http(image, registry.url, source, "1")
    overlap = _Overlap()
    seam = FaultTransport([Rule("PUT", "/blobs/uploads/", overlap, times=100)])
    result = copy_image(
        f"{registry.host}/{source}:1",
        f"{other_registry.host}/{repo('jobs-dst')}:1",
        options=CopyOptions(jobs=jobs),
        registry_options=RegistryOptions(transport=seam, max_concurrency=8),
    )
    assert result.digest == image.digest
    assert result.to_dict()["blobs"]["copied"] == 7  # six layers and the config
    assert overlap.most <= jobs
    if jobs > 1:
        assert overlap.most > 1  # the bound is what limits, not the test's own timing
