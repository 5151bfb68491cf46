"""Builds pushed to staging share their base layer: one upload into the staging
registry, mounts into the other repositories, in the same run and in a later one."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from promoter.build.push import StagingPusher
from promoter.build.result import BuildResult
from promoter.build.spec import BuildSpec
from promoter.registry import RegistryOptions
from tests.support.images import digest_of, make_image, random_layer, tar_gz, write_docker_archive
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def _push(pusher: StagingPusher, staging: Registry, name: str, base: bytes, tmp: Path) -> None:
    """Build-like: a docker-archive on ``base`` pushed to ``staging/<name>:1``."""
    own = tar_gz({f"{name}.txt": name.encode()})
    image = make_image(layers=[base, own], seed=name, docker=True)
    tarball = write_docker_archive(tmp / f"{name}.tar", image)
    spec = BuildSpec(context=tmp, destinations=(f"{staging.host}/{name}:1",), name=name)
    built = BuildResult(name, image.digest, None, tarball, tmp, "docker", 0.0)
    pushed = pusher(spec, built)
    assert pushed.tags == ("1",) and pushed.reference.startswith(f"{staging.host}/{name}@")


def test_builds_on_one_base_upload_it_to_staging_once(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    staging = registry_factory(access_log=True)
    base = random_layer(1 << 20, secrets.token_hex(4))
    names = ["api", "web", "worker"]
    known = [(staging.host, n) for n in [*names, "cron"]]  # the pipeline's staging repositories
    with StagingPusher(RegistryOptions(), known) as pusher:
        for name in names:
            _push(pusher, staging, name, base, tmp_path)
    with StagingPusher(RegistryOptions(), known) as later:  # the next run
        _push(later, staging, "cron", base, tmp_path)

    logged = staging.requests()
    assert sum(r.uploaded == digest_of(base) for r in logged) == 1
    assert sum(r.mounted == digest_of(base) for r in logged) == 3
    for name in [*names, "cron"]:  # an outside reader finds the layer in every repository
        found = httpx.head(f"{staging.url}/v2/{name}/blobs/{digest_of(base)}", timeout=30)
        assert found.status_code == 200
