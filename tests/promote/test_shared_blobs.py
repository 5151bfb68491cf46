"""A promotion moves each unique blob to a production registry once: five images on
one base layer upload it once per registry and mount it four times; a later run
promoting a sixth image mounts it from where the first run put it; a home that no
longer holds the blob declines the mount, and the image still arrives whole."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import pytest

from tests.promote.project import LABELS, Project, head_digest, promoter_cli
from tests.support.images import Image, digest_of, make_image, push_http, random_layer, tar_gz
from tests.support.real_parts import require, tool_missing
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def _project(
    registry_factory: Callable[..., Registry], tmp_path: Path, images: Sequence[str]
) -> Project:
    """The promotion project, its production registries writing access logs."""
    staging = registry_factory()
    prod_a, prod_b = registry_factory(access_log=True), registry_factory(access_log=True)
    return Project(tmp_path / "project", staging, prod_a, prod_b, images=tuple(images))


def _seed(project: Project, name: str, base: bytes) -> Image:
    """``name:1.2.3`` in staging: the shared base layer and a small layer of its own."""
    own = tar_gz({f"{name}.txt": f"{name}\n".encode()})
    image = make_image(layers=[base, own], seed=name, user="1000", labels=LABELS)
    push_http(image, project.staging.url, name, "1.2.3")
    return image


def _promote(project: Project) -> None:
    done = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
    assert done.returncode == 0, done.stderr + done.stdout


def _counts(registry: Registry, digest: str) -> tuple[int, int, int]:
    """Uploads, mounts and declined mounts of ``digest``, per the registry's access log."""
    logged = registry.requests()
    return (
        sum(r.uploaded == digest for r in logged),
        sum(r.mounted == digest for r in logged),
        sum(r.declined == digest for r in logged),
    )


def test_five_images_on_one_base_upload_it_once_and_a_later_sixth_mounts_it(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    names = [f"app{i}" for i in range(5)]
    project = _project(registry_factory, tmp_path, names)
    base = random_layer(1 << 20, "promoted-base")
    images = [_seed(project, name, base) for name in names]

    _promote(project)

    for prod in (project.prod_a, project.prod_b):
        assert _counts(prod, digest_of(base))[:2] == (1, 4)
        for name, image in zip(names, images, strict=True):
            assert head_digest(prod, name, "1.2.3") == image.digest

    project.images = (*names, "app5")
    project.write()
    sixth = _seed(project, "app5", base)
    _promote(project)

    for prod in (project.prod_a, project.prod_b):
        # no second upload: the later run mounted it from a repository of the first
        assert _counts(prod, digest_of(base))[:2] == (1, 5)
        assert head_digest(prod, "app5", "1.2.3") == sixth.digest


def test_a_home_that_lost_the_blob_declines_and_the_image_arrives_whole(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    require(tool_missing("skopeo"))
    project = _project(registry_factory, tmp_path, ["app0"])
    base = random_layer(1 << 20, "lost-base")
    _seed(project, "app0", base)
    _promote(project)
    # prod-a's app0 no longer links the base layer (a cleanup removed it)
    gone = httpx.delete(f"{project.prod_a.url}/v2/app0/blobs/{digest_of(base)}", timeout=30)
    assert gone.status_code == 202

    project.images = ("app0", "app1")
    project.write()
    second = _seed(project, "app1", base)
    _promote(project)

    uploads, mounts, declined = _counts(project.prod_a, digest_of(base))
    assert (uploads, mounts) == (2, 0) and declined >= 1
    assert _counts(project.prod_b, digest_of(base))[:2] == (1, 1)
    out = tmp_path / "copied"
    subprocess.run(
        ["skopeo", "copy", "--src-tls-verify=false",
         f"docker://{project.prod_a.host}/app1:1.2.3", f"dir:{out}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert (out / digest_of(base).split(":", 1)[1]).read_bytes() == base
    assert head_digest(project.prod_a, "app1", "1.2.3") == second.digest
