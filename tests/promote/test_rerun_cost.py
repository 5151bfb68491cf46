"""What a promotion costs, counted by proxies in front of every registry: a first
run reads each staging blob once for all destinations and verifies from what the
destinations answered; a re-run with nothing to do writes nothing and costs one
HEAD per image and destination tag, plus the catalog of a host with two or more
destination repositories (read once; it cannot know beforehand that nothing is new)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.promote.project import Project, promoter_cli
from tests.support.fault_proxy import FaultProxy
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def _api_calls(proxy: FaultProxy) -> list[tuple[str, str]]:
    return [(e.method, e.path) for e in proxy.exchanges() if e.path.rstrip("/") != "/v2"]


@contextmanager
def _watched(
    registry_factory: Callable[..., Registry], tmp_path: Path, images: tuple[str, ...] = ("web",)
) -> Iterator[tuple[Project, FaultProxy, FaultProxy, FaultProxy]]:
    """A project whose three registries are reached through counting proxies."""
    staging, prod_a, prod_b = registry_factory(), registry_factory(), registry_factory()
    with FaultProxy(staging.host) as s, FaultProxy(prod_a.host) as a, FaultProxy(prod_b.host) as b:
        hosts = {"staging": s.host, "prod-a": a.host, "prod-b": b.host}
        project = Project(tmp_path / "project", staging, prod_a, prod_b, hosts=hosts, images=images)
        yield project, s, a, b


def test_rerun_with_nothing_to_do_only_reads(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    with _watched(registry_factory, tmp_path) as (project, s, a, b):
        project.seed()  # straight into staging, not through the proxy
        first = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert first.returncode == 0, first.stderr
        assert any(method == "PUT" for method, _ in _api_calls(a))
        for proxy in (s, a, b):
            proxy.reset_counters()
        again = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert again.returncode == 0, again.stderr
        assert "up-to-date" in again.stdout
        # staging: the staging tag, once (a GET: a first run's checks and copy take the
        # manifest from it); each production: one HEAD per tag (1.2.3, latest) and no
        # tags list (the first tag is there: a list is read only when it is missing)
        assert _api_calls(s) == [("GET", "/v2/web/manifests/1.2.3")]
        for proxy in (a, b):
            assert sorted(_api_calls(proxy)) == [
                ("HEAD", "/v2/web/manifests/1.2.3"),
                ("HEAD", "/v2/web/manifests/latest"),
            ]


def test_rerun_of_two_repositories_per_host_adds_only_the_catalog(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    names = ("web", "api")
    with _watched(registry_factory, tmp_path, names) as (project, s, a, b):
        for name in names:
            project.seed(name, seed=name)
        first = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert first.returncode == 0, first.stderr
        for proxy in (s, a, b):
            proxy.reset_counters()
        again = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert again.returncode == 0, again.stderr
        assert sorted(_api_calls(s)) == sorted(("GET", f"/v2/{n}/manifests/1.2.3") for n in names)
        # each production: the catalog once (two destination repositories there: the plan
        # reads it before it knows that both are there, and then trusts none of it: they
        # are listed), then one HEAD per tag, as with one repository
        for proxy in (a, b):
            heads = [("HEAD", f"/v2/{n}/manifests/{t}") for n in names for t in ("1.2.3", "latest")]
            assert sorted(_api_calls(proxy)) == sorted([("GET", "/v2/_catalog?n=1000"), *heads]), (
                _api_calls(proxy)
            )


def test_first_promotion_reads_each_blob_once_and_asks_nothing_twice(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    with _watched(registry_factory, tmp_path) as (project, s, a, b):
        image = project.seed(layer_sizes=(3000, 5000))
        done = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert done.returncode == 0, done.stderr
        blob_reads = [p for m, p in _api_calls(s) if m == "GET" and "/blobs/" in p]
        # Each layer once for both productions; the config once too: the copy takes the
        # bytes the checks read (the run's memo, promoter/registry/remote/memo.py).
        for layer in image.layer_digests:
            assert blob_reads.count(f"/v2/web/blobs/{layer}") == 1, blob_reads
        assert blob_reads.count(f"/v2/web/blobs/{image.config_digest}") == 1, blob_reads
        for proxy in (a, b):
            calls = _api_calls(proxy)
            heads = [p for m, p in calls if m == "HEAD"]
            # No blob asked for: the plan's tags list found no tag in the repository, so
            # no blob is there but those the run puts there (BlobHomes); each is written
            # once, and the graph check before the tags trusts that.
            uploads = [p for m, p in calls if m == "PUT" and "/blobs/uploads/" in p]
            for blob in (image.config_digest, *image.layer_digests):
                assert heads.count(f"/v2/web/blobs/{blob}") == 0, heads
                assert sum(blob.replace(":", "%3A") in p for p in uploads) == 1, uploads
            # The image's digest: asked by the plan only, then stored once by digest.
            assert heads.count(f"/v2/web/manifests/{image.digest}") == 1, heads
            puts = [p for m, p in calls if m == "PUT" and "/manifests/" in p]
            assert puts.count(f"/v2/web/manifests/{image.digest}") == 1, puts
            assert "/v2/web/manifests/1.2.3" in puts and "/v2/web/manifests/latest" in puts


def test_a_blob_above_the_sharing_limit_streams_to_each_destination(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    from promoter.promote.source import SHARED_BLOB_LIMIT

    staging, prod_a, prod_b = registry_factory(), registry_factory(), registry_factory()
    with FaultProxy(staging.host) as s:
        hosts = {"staging": s.host}
        project = Project(tmp_path / "project", staging, prod_a, prod_b, hosts=hosts)
        image = project.seed(layer_sizes=(SHARED_BLOB_LIMIT + 1, 2000))
        done = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert done.returncode == 0, done.stderr
        blob_reads = [p for m, p in _api_calls(s) if m == "GET" and "/blobs/" in p]
        big, small = image.layer_digests
        # Not held in memory: read from staging for each production...
        assert blob_reads.count(f"/v2/web/blobs/{big}") == 2, blob_reads
        # ...while the small layer is read once for both.
        assert blob_reads.count(f"/v2/web/blobs/{small}") == 1, blob_reads
