"""The registry-to-registry pipe for large blobs (promoter.registry.remote.pipe), on real registries."""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from promoter.oci import Descriptor
from promoter.oci.reference import parse_registry_reference
from promoter.registry import RegistryOptions
from promoter.registry.access.credentials import Credential, StaticCredentials
from promoter.registry.remote.pipe import PIPE_MIN_SIZE
from promoter.registry.remote.pool import Registries
from promoter.registry.target import RepositoryTarget
from promoter.transfer import copy_image
from promoter.transfer.endpoints import TargetEndpoint
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.images import make_image, push_http
from tests.support.registry import Registry
from tests.support.tls import make_tls, write_htpasswd

pytestmark = pytest.mark.registry

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _endpoint(registries: Registries, name: str) -> TargetEndpoint:
    reference = parse_registry_reference(name)
    return TargetEndpoint(RepositoryTarget(registries.client(reference.registry), reference))


def _has_blob(url: str, repository: str, digest: str, **kwargs: object) -> bool:
    response = httpx.head(f"{url}/v2/{repository}/blobs/{digest}", timeout=30, **kwargs)  # type: ignore[arg-type]
    return response.status_code == 200


def test_a_large_blob_goes_through_the_pipe_and_a_small_one_does_not(
    registry: Registry, other_registry: Registry
) -> None:
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(PIPE_MIN_SIZE + 12345, 1000))
    push_http(image, registry.url, "pipe/src", "v1")
    big, small = image.layer_digests
    sizes = {d: len(data) for d, data in image.blobs.items()}
    with Registries(RegistryOptions()) as registries:
        source = _endpoint(registries, f"{registry.host}/pipe/src")
        destination = _endpoint(registries, f"{other_registry.host}/pipe/dst")
        seen: list[int] = []
        assert destination.pipe_blob(Descriptor(LAYER, big, sizes[big]), source, seen.append)
        assert sum(seen) == sizes[big]  # progress heard every byte
        assert not destination.pipe_blob(
            Descriptor(LAYER, small, sizes[small]), source, seen.append
        )
    assert _has_blob(other_registry.url, "pipe/dst", big)
    assert not _has_blob(other_registry.url, "pipe/dst", small)


def test_a_reset_in_the_middle_of_the_pipe_falls_back_and_completes(
    registry: Registry, other_registry: Registry
) -> None:
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(PIPE_MIN_SIZE + 1,))
    push_http(image, registry.url, "pipe/reset", "v1")
    (big,) = image.layer_digests
    with FaultProxy(registry.host) as proxy:
        fault = proxy.add(Fault("reset", method="GET", path=big, after_bytes=1024 * 1024))
        result = copy_image(f"{proxy.host}/pipe/reset:v1", f"{other_registry.host}/pipe/reset:v1")
        assert fault.fired == 1
        # the pipe's read broke; the regular path read the blob again (resuming or whole)
        assert proxy.count(method="GET", path=big) >= 2
    assert result.retries >= 1 and result.blobs_copied == 2
    assert _has_blob(other_registry.url, "pipe/reset", big)
    manifest = httpx.get(
        f"{other_registry.url}/v2/pipe/reset/manifests/v1",
        headers={"Accept": image.media_type},
        timeout=30,
    )
    assert manifest.content == image.manifest_bytes


def test_the_pipe_speaks_tls_and_basic_auth(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    tls = make_tls(tmp_path / "tls")
    password = "pw-" + secrets.token_hex(12)
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"alice": password})
    source = registry_factory(tls=tls.server, htpasswd=htpasswd)
    destination = registry_factory(tls=tls.server, htpasswd=htpasswd)
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(PIPE_MIN_SIZE + 7,))
    (big,) = image.layer_digests
    login = Credential(username="alice", password=password, source="test")
    options = RegistryOptions(
        ca_file=tls.ca,
        credentials=StaticCredentials({source.host: login, destination.host: login}),
    )
    with Registries(options) as registries:
        seeding = registries.client(source.host)
        for digest, data in image.blobs.items():
            seeding.upload_blob("pipe/tls", digest, len(data), data)
        src = _endpoint(registries, f"{source.host}/pipe/tls")
        dst = _endpoint(registries, f"{destination.host}/pipe/tls")
        assert dst.pipe_blob(Descriptor(LAYER, big, len(image.blobs[big])), src, lambda _n: None)
    trust = ssl.create_default_context(cafile=tls.ca)
    assert _has_blob(destination.url, "pipe/tls", big, verify=trust, auth=("alice", password))
