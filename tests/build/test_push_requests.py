"""Pushing a build to staging under several tags: the graph once, then one PUT per tag."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from promoter.build.push import StagingPusher
from promoter.build.result import BuildResult
from promoter.build.spec import BuildSpec
from promoter.registry import RegistryOptions
from tests.support.fault_proxy import FaultProxy
from tests.support.images import make_image, write_docker_archive
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def test_several_tags_cost_one_check_per_blob_and_one_put_per_tag(
    registry: Registry, tmp_path: Path
) -> None:
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(2000, 3000))
    tarball = write_docker_archive(tmp_path / "image.tar", image)
    repository = f"push/{secrets.token_hex(4)}"
    tags = ("1.0.0", "latest", "sha-abc1234")
    with FaultProxy(registry.host) as proxy:
        spec = BuildSpec(
            context=tmp_path,
            destinations=tuple(f"{proxy.host}/{repository}:{t}" for t in tags),
            name="web",
        )
        built = BuildResult("web", "sha256:" + "0" * 64, None, tarball, tmp_path, "docker", 0.0)
        with StagingPusher(RegistryOptions()) as push:
            pushed = push(spec, built)
        calls = [(e.method, e.path) for e in proxy.exchanges()]
    assert pushed.tags == tags
    blob_heads = [p for m, p in calls if m == "HEAD" and "/blobs/" in p]
    assert len(blob_heads) == len(set(blob_heads)) == 3  # config and two layers, once each
    manifest_puts = [p for m, p in calls if m == "PUT" and "/manifests/" in p]
    assert sorted(manifest_puts) == sorted(f"/v2/{repository}/manifests/{t}" for t in tags)
    for tag in tags:  # an outside reader finds every tag at the pushed digest
        answer = httpx.head(
            f"{registry.url}/v2/{repository}/manifests/{tag}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=30,
        )
        assert answer.headers["Docker-Content-Digest"] == pushed.digest
