"""``promoter index create``: per-platform images stitched into one OCI index.

Real registry; skopeo and ``docker pull`` read the index back.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.support.cli import run_cli
from tests.support.images import (
    Image,
    make_helm_chart,
    make_image,
    make_platform_index,
    push_http,
    write_layout,
)
from tests.support.real_parts import docker_engine_missing, require
from tests.support.registry import Registry

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def promoter(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args)


def skopeo(*args: str) -> str:
    """skopeo's stdout for ``args`` (an outside reader of what promoter wrote)."""
    return subprocess.run(
        ["skopeo", *args], capture_output=True, text=True, timeout=60, check=True
    ).stdout


def skopeo_raw(ref: str) -> dict[str, object]:
    """The manifest at ``docker://ref``, as skopeo reads it."""
    document: dict[str, object] = json.loads(
        skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ref}")
    )
    return document


def seed(registry: Registry, repository: str, images: dict[str, Image]) -> list[str]:
    """Push ``images`` (tag -> image) to ``repository``; their references, in order."""
    for tag, image in images.items():
        push_http(image, registry.url, repository, tag)
    return [f"{registry.host}/{repository}:{tag}" for tag in images]


def tag_exists(registry: Registry, repository: str, tag: str) -> bool:
    response = httpx.head(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": OCI_INDEX},
    )
    return response.status_code == 200


def test_two_platform_images_become_one_index(registry: Registry) -> None:
    amd64 = make_image(seed="idx-amd64")
    arm64 = make_image(seed="idx-arm64", architecture="arm64", variant="v8", docker=True)
    push_http(amd64, registry.url, "build/app", "1.0-linux-amd64")
    push_http(arm64, registry.url, "build/app-arm", "1.0-linux-arm64")

    result = promoter(
        "index",
        "create",
        f"{registry.host}/build/app:1.0",
        f"{registry.host}/build/app:1.0-linux-amd64",
        f"{registry.host}/build/app-arm@{arm64.digest}",
        "--output",
        "json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    index = skopeo_raw(f"{registry.host}/build/app:1.0")
    assert index["mediaType"] == OCI_INDEX
    manifests = index["manifests"]
    assert isinstance(manifests, list)
    assert [(m["digest"], m["platform"]) for m in manifests] == [
        (amd64.digest, {"architecture": "amd64", "os": "linux"}),
        (arm64.digest, {"architecture": "arm64", "os": "linux", "variant": "v8"}),
    ]
    assert manifests[1]["mediaType"] == arm64.media_type  # Docker v2s2 kept as it is
    digest = skopeo(
        "inspect",
        "--tls-verify=false",
        "--format",
        "{{.Digest}}",
        f"docker://{registry.host}/build/app:1.0",
    )
    assert report["digest"] == digest.strip()
    # The arm64 child came from another repository: it is now in build/app too.
    child = skopeo_raw(f"{registry.host}/build/app@{arm64.digest}")
    assert child["config"] == arm64.manifest["config"]


def test_same_sources_give_the_same_digest(registry: Registry) -> None:
    amd64 = make_image(seed="same-amd64")
    arm64 = make_image(seed="same-arm64", architecture="arm64")
    sources = seed(registry, "build/same", {"amd64": amd64, "arm64": arm64})
    first = promoter("index", "create", f"{registry.host}/build/same:a", *sources, "-o", "json")
    second = promoter("index", "create", f"{registry.host}/build/same:b", *sources, "-o", "json")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert json.loads(first.stdout)["digest"] == json.loads(second.stdout)["digest"]


def test_an_index_source_contributes_its_platforms(registry: Registry) -> None:
    both = make_platform_index(seed="nested")
    extra = make_image(seed="nested-s390x", architecture="s390x")
    sources = seed(registry, "build/nested", {"both": both, "s390x": extra})
    result = promoter("index", "create", f"{registry.host}/build/nested:all", *sources)
    assert result.returncode == 0, result.stderr
    index = skopeo_raw(f"{registry.host}/build/nested:all")
    manifests = index["manifests"]
    assert isinstance(manifests, list)
    assert [m["platform"]["architecture"] for m in manifests] == ["amd64", "arm64", "s390x"]


def test_two_sources_of_one_platform_are_refused_and_nothing_written(registry: Registry) -> None:
    one = make_image(seed="dup-1")
    two = make_image(seed="dup-2")
    sources = seed(registry, "build/dup", {"one": one, "two": two})
    result = promoter("index", "create", f"{registry.host}/build/dup:multi", *sources)
    assert result.returncode == 2
    assert result.stderr.startswith("error: two sources for platform linux/amd64")
    assert "Traceback" not in result.stderr
    assert not tag_exists(registry, "build/dup", "multi")


def test_an_artifact_is_not_a_platform_image(registry: Registry) -> None:
    # A Helm chart's config type is not an image config: it has no platform.
    chart = make_helm_chart()
    push_http(chart, registry.url, "build/chart", "0.1.0")
    result = promoter(
        "index",
        "create",
        f"{registry.host}/build/chart:multi",
        f"{registry.host}/build/chart:0.1.0",
    )
    assert result.returncode == 2
    assert "is not a runnable image" in result.stderr


def test_destination_with_a_digest_is_bad_input(registry: Registry) -> None:
    image = make_image(seed="digest-dst")
    push_http(image, registry.url, "build/dd", "x")
    result = promoter(
        "index", "create", f"{registry.host}/build/dd@{image.digest}", f"{registry.host}/build/dd:x"
    )
    assert result.returncode == 2
    assert "needs a tag" in result.stderr


def test_refused_input_creates_no_layout(tmp_path: Path) -> None:
    one, two = make_image(seed="dup-layout-1"), make_image(seed="dup-layout-2")
    source = tmp_path / "src"
    write_layout(source, {"one": one, "two": two})
    out = tmp_path / "out"
    result = promoter(
        "index", "create", f"oci:{out}:multi", f"oci:{source}:one", f"oci:{source}:two"
    )
    assert result.returncode == 2
    assert not out.exists()


def test_layout_destination(tmp_path: Path) -> None:
    amd64 = make_image(seed="layout-amd64")
    arm64 = make_image(seed="layout-arm64", architecture="arm64")
    source = tmp_path / "src"
    write_layout(source, {"amd64": amd64, "arm64": arm64})
    out = tmp_path / "out"
    result = promoter(
        "index", "create", f"oci:{out}:multi", f"oci:{source}:amd64", f"oci:{source}:arm64"
    )
    assert result.returncode == 0, result.stderr
    index = json.loads(skopeo("inspect", "--raw", f"oci:{out}:multi"))
    assert [m["digest"] for m in index["manifests"]] == [amd64.digest, arm64.digest]


def test_docker_pulls_the_host_platform_from_the_index(registry: Registry) -> None:
    require(docker_engine_missing())
    amd64 = make_image(seed="pull-amd64")
    arm64 = make_image(seed="pull-arm64", architecture="arm64")
    sources = seed(registry, "build/pull", {"amd64": amd64, "arm64": arm64})
    created = promoter(
        "index", "create", f"{registry.host}/build/pull:multi", *sources, "-o", "json"
    )
    assert created.returncode == 0, created.stderr
    digest = json.loads(created.stdout)["digest"]
    ref = f"{registry.host}/build/pull@{digest}"
    pulled = subprocess.run(
        ["docker", "pull", "--platform", "linux/amd64", ref],
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        assert pulled.returncode == 0, pulled.stderr
        assert digest in pulled.stdout
        config = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", ref],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert config.stdout.strip() == amd64.config_digest
    finally:
        subprocess.run(["docker", "image", "rm", "-f", ref], capture_output=True, timeout=60)
