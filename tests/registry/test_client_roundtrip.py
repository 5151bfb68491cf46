"""RegistryClient against a real distribution registry over plain HTTP on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest

from promoter.oci import Index, Manifest, Reference
from promoter.registry import Registries, RegistryClient, RegistryOptions
from tests.support.images import (
    make_artifact,
    make_image,
    make_platform_index,
    push_http,
    random_bytes,
)
from tests.support.oci_store import push_with_client
from tests.support.registry import Registry


@pytest.fixture
def client(registry: Registry) -> Iterator[RegistryClient]:
    with RegistryClient(registry.host, RegistryOptions()) as c:
        yield c


def _push_image(client: RegistryClient, repository: str, tag: str, seed: str) -> str:
    image = make_image(seed=seed, layer_sizes=(3000, 70000))
    return push_with_client(client, image, repository, tag)


def test_loopback_plain_http_is_discovered(client: RegistryClient, registry: Registry) -> None:
    assert client.ping() == f"http://{registry.host}"


def test_push_then_pull_keeps_bytes(client: RegistryClient, registry: Registry) -> None:
    image = make_image(seed="rt", layer_sizes=(1000, 200_000))
    blobs = list(image.blobs.items())
    # Three upload modes: whole bytes, an opener (streamed PATCH), an iterable (chunks).
    digest0, data0 = blobs[0]
    client.upload_blob("rt/app", digest0, len(data0), data0)
    digest1, data1 = blobs[1]
    client.upload_blob("rt/app", digest1, len(data1), lambda off: iter([data1[off:]]))
    digest2, data2 = blobs[2]
    pieces = [data2[i : i + 4096] for i in range(0, len(data2), 4096)]
    client.upload_blob("rt/app", digest2, len(data2), iter(pieces), chunk_size=65536)
    for digest, data in blobs:
        assert client.blob_exists("rt/app", digest)
        assert b"".join(client.get_blob("rt/app", digest)) == data
    put = client.put_manifest("rt/app", image.manifest_bytes, image.media_type, "v1")
    assert put == image.digest

    by_tag = client.get_manifest(Reference(registry.host, "rt/app", "v1"))
    assert by_tag.raw == image.manifest_bytes
    assert by_tag.digest == image.digest
    assert by_tag.media_type == image.media_type
    by_digest = client.get_manifest(Reference(registry.host, "rt/app", None, image.digest))
    assert by_digest.raw == image.manifest_bytes
    view = by_digest.parse()
    assert isinstance(view, Manifest)
    assert [b.digest for b in view.blobs] == [image.config_digest, *image.layer_digests]

    head = client.head_manifest(Reference(registry.host, "rt/app", "v1"))
    assert head is not None and head.digest == image.digest and head.size == image.size
    assert client.head_manifest(Reference(registry.host, "rt/app", "nope")) is None
    assert client.list_tags("rt/app") == ["v1"]
    assert client.list_tags("rt/never-pushed") == []
    assert not client.blob_exists("rt/app", "sha256:" + "0" * 64)


def test_get_blob_from_offset(client: RegistryClient) -> None:
    data = random_bytes(300_000, "offset")
    from promoter.oci import compute_digest

    digest = compute_digest(data)
    client.upload_blob("rt/offset", digest, len(data), data)
    assert b"".join(client.get_blob("rt/offset", digest, offset=123_456)) == data[123_456:]
    assert client.get_blob_bytes("rt/offset", digest) == data


def test_index_and_children_round_trip(client: RegistryClient, registry: Registry) -> None:
    index = make_platform_index(seed="idx")
    for digest, data in index.blobs.items():
        client.upload_blob("rt/multi", digest, len(data), data)
    for manifest in index.manifests():
        ident = "latest" if manifest is index else manifest.digest
        client.put_manifest("rt/multi", manifest.manifest_bytes, manifest.media_type, ident)
    fetched = client.get_manifest(Reference(registry.host, "rt/multi", "latest"))
    assert fetched.raw == index.manifest_bytes
    view = fetched.parse()
    assert isinstance(view, Index)
    assert {str(d.platform) for d in view.manifests} == {"linux/amd64", "linux/arm64/v8"}
    assert [d.digest for d in view.manifests] == [c.digest for c in index.children]


def test_mount_moves_no_bytes(registry: Registry) -> None:
    with Registries(RegistryOptions()) as pool:
        client = pool.client(registry.host)
        _push_image(client, "mount/src", "v1", "mount")
        fetched = client.get_manifest(Reference(registry.host, "mount/src", "v1"))
        view = fetched.parse()
        assert isinstance(view, Manifest)
        uploaded_before = client.transport.stats.bytes_uploaded
        for blob in view.blobs:
            assert not client.blob_exists("mount/dst", blob.digest)
            assert client.mount_blob("mount/dst", blob.digest, "mount/src") is True
            assert client.blob_exists("mount/dst", blob.digest)
        client.put_manifest("mount/dst", fetched.raw, fetched.media_type, "v1")
        assert client.transport.stats.bytes_uploaded == uploaded_before
        assert client.get_manifest(Reference(registry.host, "mount/dst", "v1")).raw == fetched.raw


def test_mount_declined_falls_back_to_the_upload_session(client: RegistryClient) -> None:
    data = random_bytes(5000, "declined")
    from promoter.oci import compute_digest

    digest = compute_digest(data)
    # The source repository does not hold the blob: the registry answers 202 with a session.
    assert client.mount_blob("declined/dst", digest, "declined/nowhere") is False
    assert client.upload_blob("declined/dst", digest, len(data), data) == len(data)
    assert client.blob_exists("declined/dst", digest)


def test_referrers_tag_schema_fallback(client: RegistryClient, registry: Registry) -> None:
    subject = make_image(seed="subject")
    push_http(subject, registry.url, "ref/app", "v1")
    artifact = make_artifact(subject, payload=b"signature")
    push_http(artifact, registry.url, "ref/app")
    # distribution 2.8 has no referrers API: clients maintain the sha256-<hex> tag.
    fallback = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [artifact.descriptor()],
    }
    raw = json.dumps(fallback).encode()
    tag = subject.digest.replace(":", "-")
    client.put_manifest("ref/app", raw, "application/vnd.oci.image.index.v1+json", tag)
    found = client.referrers("ref/app", subject.digest)
    assert [d.digest for d in found] == [artifact.digest]
    assert client.referrers("ref/app", artifact.digest) == []


@pytest.mark.skopeo
def test_skopeo_reads_what_we_write(client: RegistryClient, registry: Registry) -> None:
    if shutil.which("skopeo") is None:
        from tests.conftest import require_tool

        require_tool("skopeo not installed")
    digest = _push_image(client, "rt/skopeo", "v2", "skopeo")
    result = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{registry.host}/rt/skopeo:v2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout)["Digest"] == digest


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("localhost:5000", True),
        ("LOCALHOST", True),
        ("10.0.0.1:5000", False),
        ("myregistry.azurecr.io", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    from promoter.registry import is_loopback

    assert is_loopback(host) is loopback


def test_localhost_name_reaches_the_loopback_registry(registry: Registry) -> None:
    host = f"localhost:{registry.port}"
    with RegistryClient(host, RegistryOptions()) as client:
        assert client.ping() == f"http://{host}"
        assert client.list_tags("never/pushed") == []


def test_tags_are_paginated(client: RegistryClient, registry: Registry) -> None:
    image = make_image(seed="pages")
    push_http(image, registry.url, "rt/pages")
    for tag in ("a", "b", "c", "d", "e"):
        client.put_manifest("rt/pages", image.manifest_bytes, image.media_type, tag)
    assert sorted(client.list_tags("rt/pages", page_size=2)) == ["a", "b", "c", "d", "e"]
    # Five tags in pages of two: three GETs of the tag list.
    assert client.transport.stats.by_method.get("GET", 0) >= 3


def test_delete_manifest(client: RegistryClient, registry: Registry) -> None:
    image = make_image(seed="delete-me")
    push_http(image, registry.url, "rt/delete", "v1")
    client.delete_manifest("rt/delete", image.digest)
    assert client.head_manifest(Reference(registry.host, "rt/delete", None, image.digest)) is None


def test_referrers_api_answer_is_used(registry: Registry) -> None:
    from tests.support.fault_transport import FaultTransport, Rule

    subject = make_image(seed="api-subject")
    push_http(subject, registry.url, "ref/api", "v1")
    artifact = make_artifact(subject, payload=b"sbom")
    answer = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [artifact.descriptor()],
        }
    ).encode()
    second = make_artifact(subject, payload=b"signature", artifact_type="application/x-sig")
    page2 = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [second.descriptor()],
        }
    ).encode()
    index_type = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
    next_page = f'</v2/ref/api/referrers/{subject.digest}?last=1>; rel="next"'
    seam = FaultTransport(
        [
            Rule(
                "GET",
                "/referrers/",
                FaultTransport.answer(200, page2, index_type),
                query_contains="last=1",
            ),
            Rule(
                "GET",
                "/referrers/",
                FaultTransport.answer(200, answer, {**index_type, "Link": next_page}),
            ),
        ]
    )
    with RegistryClient(registry.host, RegistryOptions(transport=seam)) as client:
        found = client.referrers("ref/api", subject.digest)
        assert [d.digest for d in found] == [artifact.digest, second.digest]
        assert found[0].artifact_type == artifact.artifact_type
    # The API answered: no tag-schema lookup was made.
    assert not any("/manifests/sha256-" in path for _, path, _ in seam.log)


def test_ipv6_loopback_registry(registry_factory: Callable[..., Registry]) -> None:
    v6 = registry_factory(ipv6=True)
    assert v6.host.startswith("[::1]:")
    with RegistryClient(v6.host, RegistryOptions()) as client:
        assert client.ping() == f"http://{v6.host}"
        digest = _push_image(client, "v6/app", "v1", "v6")
        assert client.get_manifest(Reference(v6.host, "v6/app", "v1")).digest == digest


def test_proxy_variables_do_not_capture_loopback(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A dead proxy: a loopback registry must still be reached directly.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    with RegistryClient(registry.host, RegistryOptions()) as client:
        assert client.list_tags("never/pushed") == []
