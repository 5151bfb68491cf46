"""The OCI model: references, digests, manifest views keeping the original bytes."""

from __future__ import annotations

import hashlib
import json

import pytest

from promoter.errors import InputError
from promoter.oci import (
    ArchiveReference,
    DigestMismatchError,
    Index,
    LayoutReference,
    Manifest,
    Platform,
    Reference,
    UnsupportedManifestError,
    compute_digest,
    parse_manifest,
    parse_reference,
    verify_digest,
)
from promoter.oci import mediatypes as mt

HEX = "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", Reference("docker.io", "library/busybox", "latest")),
        ("index.docker.io/library/busybox:1", Reference("docker.io", "library/busybox", "1")),
        ("user/app:v1", Reference("docker.io", "user/app", "v1")),
        ("127.0.0.1:5000/a/b:t", Reference("127.0.0.1:5000", "a/b", "t")),
        ("localhost/x", Reference("localhost", "x", "latest")),
        (f"ghcr.io/o/r@sha256:{HEX}", Reference("ghcr.io", "o/r", None, f"sha256:{HEX}")),
        (f"reg.io/o/r:t@sha256:{HEX}", Reference("reg.io", "o/r", "t", f"sha256:{HEX}")),
        ("[::1]:5000/r:t", Reference("[::1]:5000", "r", "t")),
        ("docker://reg.io/a:b", Reference("reg.io", "a", "b")),
    ],
)
def test_registry_references(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected


def test_reference_round_trip_and_identifier() -> None:
    ref = parse_reference(f"reg.io/o/r:t@sha256:{HEX}")
    assert isinstance(ref, Reference)
    assert str(ref) == f"reg.io/o/r:t@sha256:{HEX}"
    assert ref.identifier == f"sha256:{HEX}"
    assert parse_reference("busybox").api_host == "registry-1.docker.io"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("reg.io/Upper/x", "lowercase"),
        ("reg.io/a:bad tag", "not a valid tag"),
        ("reg.io/a@sha256:123", "not a valid digest"),
        ("reg.io/a@md5:" + "a" * 32, "not a valid digest"),
        ("reg.io/", "repository name is missing"),
        ("reg.io/a//b", "not a valid repository path component"),
        ("oci:", "no path"),
        ("docker-archive:", "no path"),
    ],
)
def test_bad_references_are_input_errors(text: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_reference(text)
    assert reason in caught.value.message
    assert "\n" not in caught.value.message


def test_local_references() -> None:
    assert parse_reference("oci:/tmp/lay:v1") == LayoutReference("/tmp/lay", "v1")
    assert parse_reference("oci:/tmp/lay") == LayoutReference("/tmp/lay", None)
    assert parse_reference("oci:relative/dir") == LayoutReference("relative/dir", None)
    assert parse_reference("docker-archive:/x/image.tar") == ArchiveReference("/x/image.tar")


def test_digests_sha256_and_sha512() -> None:
    data = b"hello"
    assert compute_digest(data) == "sha256:" + hashlib.sha256(data).hexdigest()
    verify_digest(data, "sha512:" + hashlib.sha512(data).hexdigest())
    with pytest.raises(DigestMismatchError) as caught:
        verify_digest(b"other", compute_digest(data), reference="r")
    assert caught.value.code == "DIGEST_INVALID"


def test_manifest_view_keeps_original_bytes() -> None:
    # Odd spacing and key order: the view must never re-serialize.
    raw = (
        b'{"schemaVersion":2,  "mediaType":"application/vnd.oci.image.manifest.v1+json",'
        b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'
        + HEX.encode()
        + b'","size":3},"layers":[{"size":5,"digest":"sha256:'
        + ("b" * 64).encode()
        + b'","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}],'
        b'"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:'
        + ("c" * 64).encode()
        + b'","size":9},"artifactType":"application/x-test"}'
    )
    view = parse_manifest(raw)
    assert isinstance(view, Manifest)
    assert view.raw is raw
    assert view.digest == compute_digest(raw)
    assert [b.size for b in view.blobs] == [3, 5]
    assert view.subject is not None and view.subject.digest == "sha256:" + "c" * 64
    assert view.artifact_type == "application/x-test"
    assert view.size == len(raw) + 8


def test_index_view_and_platforms() -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST_LIST,
        "manifests": [
            {
                "mediaType": mt.DOCKER_MANIFEST,
                "digest": f"sha256:{HEX}",
                "size": 10,
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            }
        ],
    }
    view = parse_manifest(json.dumps(doc).encode())
    assert isinstance(view, Index)
    assert str(view.manifests[0].platform) == "linux/arm64/v8"
    assert Platform.parse("linux/amd64") == Platform("linux", "amd64")


def test_schema1_is_refused_clearly() -> None:
    raw = json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode()
    with pytest.raises(UnsupportedManifestError) as caught:
        parse_manifest(raw, mt.DOCKER_MANIFEST_SCHEMA1_SIGNED, reference="reg.io/x:old")
    assert "schema 1" in caught.value.message
    assert "reg.io/x:old" in caught.value.message
