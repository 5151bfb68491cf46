"""Requests of one ``run --stage check,promote`` that repeat what the run already knows
(issue #24), counted per kind by proxies in front of every registry: cosign's tags and
the referrers index are looked up in one tags list per staging repository, the referrers
API is asked once per host (concurrent callers wait for its answer), and the manifest
and config the checks read are not read again to copy them. What the list shows is still copied, and
the destination's referrers index is read fresh before it is extended. A destination
repository whose tags list answers 404 at plan time is asked for no tag and no blob,
and when the host's catalog (read once) shows it new, neither its first tag nor its
digest, while the last-moment HEAD of an immutable tag and the referrers index's
read-modify-write stay; the referrers API is probed once per host and the records'
empty config uploaded once per host (then mounted)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.promote.project import Project, fallback_index, head_digest, promoter_cli
from tests.support.fault_proxy import FaultProxy
from tests.support.registry import Registry

pytestmark = pytest.mark.registry

_FALLBACK_TAG = re.compile(r"/manifests/sha256-[0-9a-f]{64}(\.\w+)?$")


def _kinds(proxy: FaultProxy) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for e in proxy.exchanges():
        path = e.path.split("?", 1)[0]
        if path.endswith("/tags/list"):
            kind = "tags list"
        elif "/referrers/" in path:
            kind = "referrers"
        elif _FALLBACK_TAG.search(path):
            kind = f"fallback {e.method}"
        elif "/manifests/" in path:
            kind = f"manifest {e.method}"
        elif "/blobs/sha256:" in path:
            kind = f"blob {e.method}"
        else:
            kind = "other"
        kinds.setdefault(kind, []).append(path)
    return kinds


def _count(kinds: dict[str, list[str]], kind: str) -> int:
    return len(kinds.get(kind, []))


def test_staging_is_read_once_per_question_across_check_and_promote(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    staging, prod_a, prod_b = registry_factory(), registry_factory(), registry_factory()
    with FaultProxy(staging.host) as s, FaultProxy(prod_a.host) as a:
        hosts = {"staging": s.host, "prod-a": a.host}
        names = ("web", "api", "worker")
        project = Project(tmp_path / "project", staging, prod_a, prod_b, hosts=hosts, images=names)
        images = {name: project.seed(name, seed=name, layer_sizes=(3000,)) for name in names}
        done = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert done.returncode == 0, done.stderr
        kinds = _kinds(s)
        # One tags list per staging repository answers every absent .sig/.att/.sbom and
        # sha256-<hex> lookup of the checks and of the copy: none is asked by itself.
        assert sorted(kinds["tags list"]) == sorted(f"/v2/{n}/tags/list" for n in names)
        assert _count(kinds, "fallback HEAD") + _count(kinds, "fallback GET") == 0, kinds
        # The referrers API: asked once; images running at once wait for that answer
        # (404: no API), and the copy does not ask again.
        assert _count(kinds, "referrers") == 1, kinds
        # The plan reads each staging tag with a GET (no HEAD): the checks and the copy
        # take that manifest from the run's memo, by its digest.
        assert sorted(kinds["manifest GET"]) == sorted(f"/v2/{n}/manifests/1.2.3" for n in names)
        assert "manifest HEAD" not in kinds, kinds
        for name, image in images.items():
            # The config the checks read is not read again for the copy.
            blob_reads = kinds["blob GET"]
            assert blob_reads.count(f"/v2/{name}/blobs/{image.config_digest}") == 1
            for layer in image.layer_digests:
                assert blob_reads.count(f"/v2/{name}/blobs/{layer}") == 1
        # Before: 15 requests per image (two referrers API calls, seven fallback tag
        # lookups, the manifest and the config twice, the tag HEAD); now 5 (+1 ping):
        # the tag GET, the config, a layer, the tags list, a referrers API call at most.
        assert len(s.exchanges()) <= 5 * len(names) + 1, kinds
        # The destination's referrers index is read fresh (HEAD) before the record is
        # listed in it, and read back after, whatever the plan's tags list said.
        dest = _kinds(a)
        assert sorted(dest["tags list"]) == sorted(f"/v2/{n}/tags/list" for n in names)
        heads = dest["fallback HEAD"]
        for name, image in images.items():
            assert heads.count(f"/v2/{name}/manifests/{image.digest.replace(':', '-')}") >= 2


def test_what_the_tags_list_shows_is_still_copied(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    staging, prod_a, prod_b = registry_factory(), registry_factory(), registry_factory()
    with FaultProxy(staging.host) as s:
        project = Project(tmp_path / "project", staging, prod_a, prod_b, hosts={"staging": s.host})
        image = project.seed(referrers=True)  # an SBOM and the sha256-<hex> index listing it
        signature = image.digest.replace(":", "-") + ".sig"
        manifest = httpx.get(
            f"{staging.url}/v2/web/manifests/{image.digest}",
            headers={"Accept": image.media_type},
            timeout=30,
        )
        httpx.put(  # a cosign-style tag (its content does not matter to the copy)
            f"{staging.url}/v2/web/manifests/{signature}",
            content=manifest.content,
            headers={"Content-Type": image.media_type},
            timeout=30,
        ).raise_for_status()
        done = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert done.returncode == 0, done.stderr
        kinds = _kinds(s)
        assert kinds["tags list"] == ["/v2/web/tags/list"], kinds
        # Listed tags are asked for (their digest may have moved); absent ones are not.
        asked = kinds.get("fallback HEAD", []) + kinds.get("fallback GET", [])
        assert not any(p.endswith((".att", ".sbom")) for p in asked), asked
        assert any(p.endswith(".sig") for p in asked), asked
    for prod in (prod_a, prod_b):
        listed = {m["artifactType"] for m in fallback_index(prod.url, image.digest)["manifests"]}
        assert "application/vnd.promoter.promotion.v1+json" in listed, listed
        assert len(listed) == 2, listed  # the SBOM (listed in staging's index) and the record


def test_a_destination_found_absent_is_asked_only_what_guards_a_write(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    staging, prod_a, prod_b = registry_factory(), registry_factory(), registry_factory()
    names = ("web", "api", "worker", "batch")
    with FaultProxy(prod_a.host) as a:
        project = Project(
            tmp_path / "project", staging, prod_a, prod_b, hosts={"prod-a": a.host}, images=names
        )
        images = {name: project.seed(name, seed=name, layer_sizes=(3000,)) for name in names}
        done = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert done.returncode == 0, done.stderr
        dest = _kinds(a)
        exchanges = a.exchanges()
    # The plan: the host's catalog, read once, lists none of the four repositories, so
    # each has its tags list read first (404: no tag), which answers both tags without
    # a HEAD.
    assert dest["other"].count("/v2/_catalog") == 1, dest
    assert sorted(dest["tags list"]) == sorted(f"/v2/{n}/tags/list" for n in names)
    # The copy: no blob HEAD in a repository without tags (the run's blob homes know
    # what it put there), each blob mounted or uploaded.
    assert _count(dest, "blob HEAD") == 0, dest
    heads = dest["manifest HEAD"]
    for name, image in images.items():
        assert f"/v2/{name}/manifests/latest" not in heads, heads
        # gone: the HEAD by digest (the catalog did not list the repository: no content
        # there, which a list's 404 alone does not tell)
        assert heads.count(f"/v2/{name}/manifests/{image.digest}") == 0, heads
        # kept: the last-moment HEAD of the immutable tag before it is written (the
        # plan asked for no tag)
        assert heads.count(f"/v2/{name}/manifests/1.2.3") == 1, heads
        # kept: the referrers index read fresh before the record is listed, and read back
        index = f"/v2/{name}/manifests/{image.digest.replace(':', '-')}"
        assert dest["fallback HEAD"].count(index) == 2, dest["fallback HEAD"]
    # The referrers API is probed once for the host, not once per image.
    assert _count(dest, "referrers") == 1, dest
    # The records' empty config ({}) is uploaded once to the host and mounted elsewhere.
    empty = "sha256%3A44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    puts = [e for e in exchanges if e.method == "PUT" and f"digest={empty}" in e.path]
    mounts = [e for e in exchanges if f"mount={empty}" in e.path and e.status == 201]
    assert (len(puts), len(mounts)) == (1, len(names) - 1), (puts, mounts)
    assert len(heads) == len(names), heads
    # Per image: list 1, 2 blobs mounted-or-uploaded (POST + PUT) 4, manifest PUT 1, tag
    # guard 1, tag PUTs 2, record (payload 2, {} 1, manifest 1, index 3) 7 = 16; plus
    # the ping, the catalog, the probe and the first {} upload's second request.
    assert len(exchanges) <= 16 * len(names) + 4, dest
    # Correct all the same: tags at the digest, every blob readable, the record listed
    # in the referrers index at both destinations (prod-b was not proxied).
    for prod in (prod_a, prod_b):
        for name, image in images.items():
            assert head_digest(prod, name, "1.2.3") == image.digest
            assert head_digest(prod, name, "latest") == image.digest
            for blob in (image.config_digest, *image.layer_digests):
                url = f"{prod.url}/v2/{name}/blobs/{blob}"
                assert httpx.head(url, timeout=30).status_code == 200, url
            listed = fallback_index(prod.url, image.digest, name)["manifests"]
            assert [m["artifactType"] for m in listed] == [
                "application/vnd.promoter.promotion.v1+json"
            ], listed
