"""Outside readers: skopeo and docker read what promoter writes; promoter copies what
skopeo pushed; the digests never change on the way."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.images import (
    make_artifact,
    make_image,
    make_platform_index,
    push_http,
    push_with_skopeo,
    write_layout,
)
from tests.support.registry import Registry
from tests.transfer.conftest import CliRun, _require, skopeo_digest
from tests.transfer.test_copy_registry import manifest_digest

Repo = Callable[[str], str]
Promoter = Callable[..., CliRun]


@pytest.fixture
def docker_engine() -> Iterator[list[str]]:
    """A Docker engine that answers; yields the image refs to remove afterwards."""
    _require("docker")
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        _require("docker", "no Docker engine answers")
    pulled: list[str] = []
    yield pulled
    for ref in pulled:
        subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, timeout=60)


def test_skopeo_reads_what_promoter_copied(
    registry: Registry,
    other_registry: Registry,
    repo: Repo,
    promoter: Promoter,
    skopeo: str,
    tmp_path: Path,
) -> None:
    index = make_platform_index(seed="outside", layer_sizes=[20_000])
    src, dst = repo("staging"), repo("prod")
    push_http(index, registry.url, src, "1")

    run = promoter("copy", f"{registry.host}/{src}:1", f"{other_registry.host}/{dst}:1")

    assert run.code == 0, run.stderr
    assert skopeo_digest(f"{other_registry.host}/{dst}:1") == index.digest
    for child in index.children:
        assert skopeo_digest(f"{other_registry.host}/{dst}@{child.digest}") == child.digest
    # skopeo can also copy it out again, verifying every blob on the way.
    subprocess.run(
        [skopeo, "copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--quiet",
         f"docker://{other_registry.host}/{dst}:1", f"dir:{tmp_path / 'copy'}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def test_docker_pulls_what_promoter_copied(
    registry: Registry,
    other_registry: Registry,
    repo: Repo,
    promoter: Promoter,
    docker_engine: list[str],
) -> None:
    image = make_image(seed="docker-pull", layer_sizes=[30_000, 1_000], cmd=["/bin/true"])
    src, dst = repo("staging"), repo("prod")
    push_http(image, registry.url, src, "1")

    run = promoter("copy", f"{registry.host}/{src}:1", f"{other_registry.host}/{dst}:1")
    assert run.code == 0, run.stderr

    by_digest = f"{other_registry.host}/{dst}@{image.digest}"
    docker_engine.append(by_digest)
    pulled = subprocess.run(
        ["docker", "pull", by_digest], capture_output=True, text=True, timeout=180
    )
    assert pulled.returncode == 0, pulled.stderr
    assert image.digest in pulled.stdout
    repo_digests = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", by_digest],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert image.digest in repo_digests


def test_promoter_copies_what_skopeo_pushed(
    registry: Registry,
    other_registry: Registry,
    repo: Repo,
    promoter: Promoter,
    skopeo: str,
    tmp_path: Path,
) -> None:
    index = make_platform_index(seed="skopeo-pushed", layer_sizes=[25_000])
    image = make_image(seed="skopeo-image")
    sbom = make_artifact(image)
    layout = write_layout(tmp_path / "layout", {"index": index, "image": image, "sbom": sbom})
    src, dst = repo("skopeo"), repo("prod")
    for tag in ("index", "image", "sbom"):
        push_with_skopeo(layout, tag, f"{registry.host}/{src}:{tag}")

    for tag, expected in (("index", index), ("image", image), ("sbom", sbom)):
        run = promoter("copy", f"{registry.host}/{src}:{tag}", f"{other_registry.host}/{dst}:{tag}")  # fmt: skip
        assert run.code == 0, run.stderr
        assert manifest_digest(other_registry.host, dst, tag) == expected.digest
        assert skopeo_digest(f"{other_registry.host}/{dst}:{tag}") == expected.digest
