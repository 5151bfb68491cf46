"""A re-run with nothing to do writes nothing and costs about one request per
image and destination tag (counted by proxies in front of every registry)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.promote.project import Project, promoter_cli
from tests.support.fault_proxy import FaultProxy
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def _api_calls(proxy: FaultProxy) -> list[tuple[str, str]]:
    return [(e.method, e.path) for e in proxy.exchanges() if e.path.rstrip("/") != "/v2"]


def test_rerun_with_nothing_to_do_only_reads(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    staging, prod_a, prod_b = registry_factory(), registry_factory(), registry_factory()
    with FaultProxy(staging.host) as s, FaultProxy(prod_a.host) as a, FaultProxy(prod_b.host) as b:
        hosts = {"staging": s.host, "prod-a": a.host, "prod-b": b.host}
        project = Project(tmp_path / "project", staging, prod_a, prod_b, hosts=hosts)
        project.seed()  # straight into staging, not through the proxy
        first = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert first.returncode == 0, first.stderr
        assert any(method == "PUT" for method, _ in _api_calls(a))
        for proxy in (s, a, b):
            proxy.reset_counters()
        again = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert again.returncode == 0, again.stderr
        assert "up-to-date" in again.stdout
        # staging: the staging tag, once; each production: one HEAD per tag (1.2.3, latest)
        assert _api_calls(s) == [("HEAD", "/v2/web/manifests/1.2.3")]
        for proxy in (a, b):
            assert sorted(_api_calls(proxy)) == [
                ("HEAD", "/v2/web/manifests/1.2.3"),
                ("HEAD", "/v2/web/manifests/latest"),
            ]
