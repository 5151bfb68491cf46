"""An image with Docker media types (what kaniko pushes) copied to ``oci:DIR:TAG`` opens
by its tag in skopeo and umoci: the copy converts it to OCI media types, as skopeo does
when it writes a layout, and reports both digests. ``--preserve-digests`` keeps the
Docker bytes, with a note; ``oci:DIR:TAG`` back to a registry keeps the OCI digest."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from promoter.oci.convert import ChildDigest, to_oci_media_types
from tests.support.images import (
    DOCKER_LAYER,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    digest_of,
    make_image,
    make_index,
    make_platform_index,
    push_http,
    tar_gz,
    write_layout,
)
from tests.support.registry import Registry
from tests.transfer.conftest import CliRun, skopeo_digest

Repo = Callable[[str], str]
Promoter = Callable[..., CliRun]
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
REF_NAME = "org.opencontainers.image.ref.name"


def _blob(layout: Path, digest: str) -> bytes:
    algorithm, _, hexdigest = digest.partition(":")
    return (layout / "blobs" / algorithm / hexdigest).read_bytes()


def _entry(layout: Path, tag: str) -> dict[str, Any]:
    index = json.loads((layout / "index.json").read_text())
    (entry,) = [e for e in index["manifests"] if e.get("annotations", {}).get(REF_NAME) == tag]
    return dict(entry)


def _tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_a_docker_image_opens_by_its_tag_in_skopeo_and_umoci(
    registry: Registry,
    repo: Repo,
    promoter: Promoter,
    skopeo: str,
    umoci: str,
    tmp_path: Path,
) -> None:
    files = {"etc/kaniko.txt": b"built by kaniko\n"}
    image = make_image(docker=True, layers=[tar_gz(files)], cmd=["/bin/true"])
    src = repo("kaniko")
    push_http(image, registry.url, src, "1")
    layout = tmp_path / "layout"

    run = promoter("copy", f"{registry.host}/{src}:1", f"oci:{layout}:v1", "-o", "json")

    assert run.code == 0, run.stderr
    report = run.json
    assert report["sourceDigest"] == image.digest
    assert report["sourceMediaType"] == DOCKER_MANIFEST
    assert report["mediaType"] == OCI_MANIFEST and report["converted"] is True
    assert report["digest"] != image.digest
    entry = _entry(layout, "v1")
    assert (entry["mediaType"], entry["digest"]) == (OCI_MANIFEST, report["digest"])
    written = _blob(layout, report["digest"])
    assert digest_of(written) == report["digest"] and entry["size"] == len(written)
    manifest = json.loads(written)
    # Media types change, the blobs do not: the config and layers keep their digests.
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"] == {**image.manifest["config"], "mediaType": OCI_CONFIG}
    assert [(x["mediaType"], x["digest"]) for x in manifest["layers"]] == [
        (OCI_LAYER, digest) for digest in image.layer_digests
    ]

    inspected = json.loads(_tool(skopeo, "inspect", f"oci:{layout}:v1").stdout)
    assert inspected["Digest"] == report["digest"]
    archive = tmp_path / "out.tar"
    copied = _tool(skopeo, "copy", "--quiet", f"oci:{layout}:v1", f"docker-archive:{archive}:a:1")
    assert copied.returncode == 0, copied.stderr
    assert _tool(umoci, "ls", "--layout", str(layout)).stdout.split() == ["v1"]
    stat = _tool(umoci, "stat", "--image", f"{layout}:v1")
    assert stat.returncode == 0 and image.layer_digests[0] in stat.stdout, stat.stderr
    bundle = tmp_path / "bundle"
    unpacked = _tool(umoci, "unpack", "--rootless", "--image", f"{layout}:v1", str(bundle))
    assert unpacked.returncode == 0, unpacked.stderr
    assert (bundle / "rootfs" / "etc" / "kaniko.txt").read_bytes() == files["etc/kaniko.txt"]

    # The text report names both digests; a second copy has nothing to do.
    again = promoter("copy", f"{registry.host}/{src}:1", f"oci:{layout}:v1")
    assert again.code == 0, again.stderr
    assert f"digest: {report['digest']}" in again.stdout and "up to date" in again.stdout
    assert f"source digest: {image.digest} ({DOCKER_MANIFEST}" in again.stdout


def test_a_docker_manifest_list_becomes_an_oci_index(
    registry: Registry, repo: Repo, promoter: Promoter, skopeo: str, tmp_path: Path
) -> None:
    manifest_list = make_platform_index(seed="kaniko-list", docker=True)
    src = repo("kaniko")
    push_http(manifest_list, registry.url, src, "multi")
    layout = tmp_path / "layout"

    run = promoter("copy", f"{registry.host}/{src}@{manifest_list.digest}", f"oci:{layout}:m")

    assert run.code == 0, run.stderr
    entry = _entry(layout, "m")
    assert entry["mediaType"] == OCI_INDEX
    assert f"source digest: {manifest_list.digest} ({DOCKER_LIST}" in run.stdout
    index = json.loads(_blob(layout, entry["digest"]))
    assert index["mediaType"] == OCI_INDEX
    assert [c["platform"] for c in index["manifests"]] == [
        c.platform for c in manifest_list.children
    ]
    for descriptor, child in zip(index["manifests"], manifest_list.children, strict=True):
        raw = _blob(layout, descriptor["digest"])
        assert descriptor["mediaType"] == OCI_MANIFEST and descriptor["size"] == len(raw)
        assert json.loads(raw)["layers"][0]["digest"] == child.layer_digests[0]
    raw = _tool(skopeo, "inspect", "--raw", f"oci:{layout}:m").stdout.encode()
    assert digest_of(raw) == entry["digest"]
    out = tmp_path / "all"
    copied = _tool(skopeo, "copy", "--all", "--quiet", f"oci:{layout}:m", f"oci:{out}:m")
    assert copied.returncode == 0, copied.stderr


def test_the_layout_round_trips_to_a_registry_with_the_oci_digest(
    registry: Registry, repo: Repo, promoter: Promoter, skopeo: str, tmp_path: Path
) -> None:
    image = make_image(seed="round-trip", docker=True)
    src, back = repo("kaniko"), repo("back")
    push_http(image, registry.url, src, "1")
    layout = tmp_path / "layout"
    there = promoter("copy", f"{registry.host}/{src}:1", f"oci:{layout}:v1", "-o", "json")
    assert there.code == 0, there.stderr
    converted = there.json["digest"]

    run = promoter("copy", f"oci:{layout}:v1", f"{registry.host}/{back}:1", "-o", "json")

    assert run.code == 0, run.stderr
    assert run.json["digest"] == run.json["sourceDigest"] == converted
    assert run.json["converted"] is False and run.json["mediaType"] == OCI_MANIFEST
    assert skopeo_digest(f"{registry.host}/{back}:1") == converted


def test_preserve_digests_keeps_docker_media_types_with_a_note(
    registry: Registry, repo: Repo, promoter: Promoter, tmp_path: Path
) -> None:
    image = make_image(seed="preserved", docker=True)
    src = repo("kaniko")
    push_http(image, registry.url, src, "1")
    layout = tmp_path / "layout"

    run = promoter(
        "copy", f"{registry.host}/{src}:1", f"oci:{layout}:v1", "--preserve-digests", "-o", "json"
    )

    assert run.code == 0, run.stderr
    assert run.json["digest"] == run.json["sourceDigest"] == image.digest
    assert run.json["converted"] is False
    assert _entry(layout, "v1")["mediaType"] == DOCKER_MANIFEST
    assert _blob(layout, image.digest) == image.manifest_bytes
    assert "note:" in run.stderr and "skopeo and umoci refuse" in run.stderr


def test_an_oci_image_keeps_its_digest_and_referrers_need_the_flag(
    registry: Registry, repo: Repo, promoter: Promoter, tmp_path: Path
) -> None:
    oci = make_image(seed="already-oci")
    docker = make_image(seed="docker-with-referrers", docker=True)
    src = repo("mixed")
    push_http(oci, registry.url, src, "oci")
    push_http(docker, registry.url, src, "docker")
    layout = tmp_path / "layout"

    run = promoter("copy", f"{registry.host}/{src}:oci", f"oci:{layout}:oci", "-o", "json")
    assert run.code == 0, run.stderr
    assert run.json["digest"] == oci.digest and run.json["converted"] is False
    assert "note:" not in run.stderr

    refused = promoter("copy", f"{registry.host}/{src}:docker", f"oci:{layout}:d", "--referrers")
    assert refused.code == 2
    assert refused.stderr.startswith("error: --referrers into") and "--preserve-digests" in (
        refused.stderr
    )
    assert "d" not in [
        e.get("annotations", {}).get(REF_NAME)
        for e in json.loads((layout / "index.json").read_text())["manifests"]
    ]
    kept = promoter(
        "copy", f"{registry.host}/{src}:docker", f"oci:{layout}:d", "--referrers",
        "--preserve-digests",
    )  # fmt: skip
    assert kept.code == 0, kept.stderr


def test_an_oci_layout_source_with_docker_types_converts_too(
    promoter: Promoter, skopeo: str, tmp_path: Path
) -> None:
    """A layout written by another tool with Docker types, copied to a new layout."""
    image = make_image(seed="from-layout", docker=True)
    source = write_layout(tmp_path / "src", {"v1": image})
    out = tmp_path / "dst"
    run = promoter("copy", f"oci:{source}:v1", f"oci:{out}:v1", "-o", "json")
    assert run.code == 0, run.stderr
    assert run.json["sourceDigest"] == image.digest and run.json["converted"] is True
    assert (
        json.loads(_tool(skopeo, "inspect", f"oci:{out}:v1").stdout)["Digest"]
        == (run.json["digest"])
    )


FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
UNCOMPRESSED = "application/vnd.docker.image.rootfs.diff.tar"


@pytest.mark.parametrize(
    ("docker_type", "oci_type"),
    [
        (DOCKER_LAYER, OCI_LAYER),
        (UNCOMPRESSED, "application/vnd.oci.image.layer.v1.tar"),
        (FOREIGN, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
        (
            "application/vnd.docker.image.rootfs.foreign.diff.tar",
            "application/vnd.oci.image.layer.nondistributable.v1.tar",
        ),
    ],
)
def test_layer_media_types_map_as_skopeo_maps_them(docker_type: str, oci_type: str) -> None:
    image = make_image(seed="types", docker=True, layer_media_type=docker_type)
    document = image.manifest
    document["layers"][0]["urls"] = ["https://example.invalid/layer"]  # a foreign layer's
    converted = to_oci_media_types(json.dumps(document).encode(), DOCKER_MANIFEST)
    assert converted is not None
    raw, media_type = converted
    manifest = json.loads(raw)
    assert media_type == manifest["mediaType"] == OCI_MANIFEST
    (layer,) = manifest["layers"]
    assert layer == {**document["layers"][0], "mediaType": oci_type}


def test_oci_content_is_left_as_it_is() -> None:
    image = make_image(seed="oci")
    assert to_oci_media_types(image.manifest_bytes, OCI_MANIFEST) is None
    index = make_index([image])
    assert to_oci_media_types(index.manifest_bytes, OCI_INDEX, {}) is None
    child = ChildDigest("sha256:" + "0" * 64, 7, OCI_MANIFEST)
    listed = to_oci_media_types(index.manifest_bytes, OCI_INDEX, {image.digest: child})
    assert listed is not None
    (entry,) = json.loads(listed[0])["manifests"]
    assert (entry["digest"], entry["size"], entry["mediaType"]) == (child.digest, 7, OCI_MANIFEST)
