"""A promotion killed with SIGKILL in the middle of copying leaves no production tag
pointing at incomplete content, and the next run completes."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from tests.promote.project import Project, head_digest, promoter_cli, start_promotion, upload_stall
from tests.support.fault_proxy import FaultProxy
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def _stalled(proxy: FaultProxy) -> bool:
    return any(e.fault == "stall" and e.fired for e in proxy.exchanges())


def test_sigkill_mid_copy_leaves_no_tag_and_the_next_run_completes(
    make_project: Callable[..., Project], registry_factory: Callable[..., Registry]
) -> None:
    far = registry_factory()  # prod-b, reached through a proxy that stalls its uploads
    with FaultProxy(far.host) as proxy:
        project = make_project(hosts={"prod-b": proxy.host})
        image = project.seed(layer_sizes=(400_000, 300_000, 200_000))
        proxy.add(upload_stall(60))  # prod-b's uploads hang
        victim = start_promotion(project, output=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not _stalled(proxy) and time.monotonic() < deadline and victim.poll() is None:
            time.sleep(0.05)
        assert _stalled(proxy), "the copy never reached prod-b's upload"
        time.sleep(1.0)  # prod-a's copy (unhindered) is done by now
        victim.kill()  # SIGKILL
        victim.wait(timeout=10)
        proxy.clear_faults()

        # No production tag names the image anywhere (prod-a has the content,
        # prod-b only part of it); the content at prod-a is by digest only.
        for registry in (project.prod_a, far):
            assert head_digest(registry, "web", "1.2.3") is None
            assert head_digest(registry, "web", "latest") is None
        assert head_digest(far, "web", image.digest) is None
        assert head_digest(project.prod_a, "web", image.digest) == image.digest

        result = promoter_cli(
            "run", "--stage", "check,promote", "-f", str(project.file), "--output", "json"
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        actions = {
            (a["destination"], a["tag"]): a["action"]
            for a in report["plan"]["images"][0]["actions"]
        }
        assert actions[(f"{project.prod_a.host}/web", "1.2.3")] == "tag"  # content was there
        assert actions[(f"{proxy.host}/web", "1.2.3")] == "copy"
        for registry in (project.prod_a, far):
            assert head_digest(registry, "web", "1.2.3") == image.digest
            assert head_digest(registry, "web", "latest") == image.digest
        # prod-b holds every blob now
        for layer in image.layer_digests:
            assert httpx.head(f"{far.url}/v2/web/blobs/{layer}").status_code == 200
