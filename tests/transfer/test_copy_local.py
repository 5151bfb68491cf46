"""Local transports: ``oci:`` layouts (read and write) and ``docker-archive:`` sources."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.images import (
    make_image,
    make_platform_index,
    push_http,
    write_docker_archive,
    write_layout,
)
from tests.support.registry import Registry
from tests.transfer.conftest import CliRun, _require
from tests.transfer.test_copy_registry import manifest_digest

Repo = Callable[[str], str]
Promoter = Callable[..., CliRun]


def test_oci_layout_to_registry_and_back(
    registry: Registry, repo: Repo, promoter: Promoter, tmp_path: Path
) -> None:
    index = make_platform_index(seed="layout", layer_sizes=[40_000])
    layout = write_layout(tmp_path / "in", {"v1": index, "other": make_image(seed="o")})
    dst = repo("from-layout")

    up = promoter("copy", f"oci:{layout}:v1", f"{registry.host}/{dst}:v1", "-o", "json")
    down = promoter("copy", f"{registry.host}/{dst}:v1", f"oci:{tmp_path / 'out'}:copied", "-o", "json")  # fmt: skip

    assert up.code == 0, up.stderr
    assert up.json["digest"] == index.digest
    assert manifest_digest(registry.host, dst, "v1") == index.digest
    assert down.code == 0, down.stderr
    written = json.loads((tmp_path / "out" / "index.json").read_text())
    [entry] = written["manifests"]
    assert entry["digest"] == index.digest
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "copied"
    for digest in [*index.blobs, *(c.digest for c in index.children)]:
        assert (tmp_path / "out" / "blobs" / "sha256" / digest.split(":")[1]).is_file()


def test_layout_written_by_promoter_is_read_by_skopeo(
    registry: Registry, repo: Repo, promoter: Promoter, tmp_path: Path, skopeo: str
) -> None:
    image = make_image(seed="skopeo-layout", layer_sizes=[10_000])
    src = repo("staging")
    push_http(image, registry.url, src, "x")
    out = tmp_path / "layout"

    run = promoter("copy", f"{registry.host}/{src}:x", f"oci:{out}:x")

    assert run.code == 0, run.stderr
    raw = subprocess.run(
        [skopeo, "inspect", "--raw", f"oci:{out}:x"], capture_output=True, check=True, timeout=60
    ).stdout
    from tests.support.images import digest_of

    assert digest_of(raw) == image.digest


def test_kaniko_style_docker_archive_source(
    registry: Registry, repo: Repo, promoter: Promoter, tmp_path: Path
) -> None:
    image = make_image(docker=True, seed="kaniko", layer_sizes=[20_000, 10_000])
    archive = write_docker_archive(tmp_path / "image.tar", image, ["app:1"])
    dst = repo("from-archive")

    run = promoter("copy", f"docker-archive:{archive}", f"{registry.host}/{dst}:1", "-o", "json")

    assert run.code == 0, run.stderr
    pushed = manifest_digest(registry.host, dst, "1")
    assert pushed == run.json["digest"]
    # The layers keep their exact bytes: their digests are those of the archive.
    raw = subprocess.run(
        ["curl", "-sf", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
         f"{registry.url}/v2/{dst}/manifests/1"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    manifest = json.loads(raw)
    assert [layer["digest"] for layer in manifest["layers"]] == image.layer_digests
    assert manifest["config"]["digest"] == image.config_digest


def test_docker_save_archive_source(
    registry: Registry, repo: Repo, promoter: Promoter, tmp_path: Path
) -> None:
    _require("docker")
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        _require("docker", "no Docker engine answers")
    image = make_image(seed="docker-save", layer_sizes=[5_000])
    src = repo("save")
    push_http(image, registry.url, src, "1")
    local = f"{registry.host}/{src}:1"
    subprocess.run(["docker", "pull", "-q", local], check=True, capture_output=True, timeout=120)
    try:
        archive = tmp_path / "saved.tar"
        subprocess.run(["docker", "save", "-o", str(archive), local], check=True, timeout=120)
        dst = repo("saved")
        run = promoter("copy", f"docker-archive:{archive}", f"{registry.host}/{dst}:1", "-o", "json")  # fmt: skip
    finally:
        subprocess.run(["docker", "rmi", "-f", local], capture_output=True, timeout=60)
    assert run.code == 0, run.stderr
    assert manifest_digest(registry.host, dst, "1") == run.json["digest"]


def test_archive_is_not_a_destination(promoter: Promoter, tmp_path: Path) -> None:
    layout = write_layout(tmp_path / "l", {"a": make_image(seed="a")})
    run = promoter("copy", f"oci:{layout}:a", f"docker-archive:{tmp_path / 'x.tar'}")
    assert run.code == 2
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("missing", ["oci:{tmp}/nothing:tag", "docker-archive:{tmp}/none.tar"])
def test_missing_local_source_is_bad_input(
    missing: str, promoter: Promoter, tmp_path: Path
) -> None:
    run = promoter("copy", missing.format(tmp=tmp_path), f"oci:{tmp_path}/out")
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
