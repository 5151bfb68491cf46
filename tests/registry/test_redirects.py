"""A registry that redirects its blob reads to storage (as ACR, ECR and CDNs do):
the copy follows, small blobs through the client and large ones through the
pipe, and the registry's credentials never reach the storage."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import httpx
import pytest

from promoter.errors import NetworkError
from promoter.oci import Descriptor
from promoter.oci.reference import parse_registry_reference
from promoter.registry import RegistryClient, RegistryOptions
from promoter.registry.access.credentials import Credential, StaticCredentials
from promoter.registry.remote.pipe import PIPE_MIN_SIZE
from promoter.registry.remote.pool import Registries
from promoter.registry.target import RepositoryTarget
from promoter.structs import replace
from promoter.transfer import copy_image
from promoter.transfer.endpoints import TargetEndpoint
from tests.support.blob_storage import BlobStorage
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.images import make_image
from tests.support.oci_store import push_with_client
from tests.support.registry import Registry
from tests.support.tls import HTPASSWD_PASSWORD, HTPASSWD_USER, TlsFiles
from tests.support.token_server import TokenServer

pytestmark = pytest.mark.registry

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _endpoint(registries: Registries, name: str) -> TargetEndpoint:
    reference = parse_registry_reference(name)
    return TargetEndpoint(RepositoryTarget(registries.client(reference.registry), reference))


def test_blob_reads_follow_the_redirect_to_storage_without_credentials(
    registry_factory: Callable[..., Registry], token_server: TokenServer
) -> None:
    source = registry_factory(token=token_server.token_auth_config())
    destination = registry_factory()
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(PIPE_MIN_SIZE + 4321, 20_000))
    big, small = image.layer_digests
    with FaultProxy(source.host) as proxy, BlobStorage(image.blobs) as storage:
        login = StaticCredentials({proxy.host: Credential(HTPASSWD_USER, HTPASSWD_PASSWORD)})
        options = RegistryOptions(credentials=login)
        with RegistryClient(proxy.host, options) as seeding:  # before any redirect
            push_with_client(seeding, image, "redirect/src", "v1")
        redirect = proxy.add(
            Fault("redirect", method="GET", path=r"/blobs/sha256:", times=None,
                  location=f"{storage.url}/container{{target}}?sv=2024&sig=opaque"),
        )  # fmt: skip

        # The pipe follows the redirect for the large blob...
        with Registries(options) as registries:
            src = _endpoint(registries, f"{proxy.host}/redirect/src")
            dst = _endpoint(registries, f"{destination.host}/redirect/piped")
            descriptor = Descriptor(LAYER, big, len(image.blobs[big]))
            assert dst.pipe_blob(descriptor, src, None)
        assert storage.served(big) and all(r.status == 200 for r in storage.served(big))

        # ...and a whole copy takes the pipe or the client as each blob's size says.
        result = copy_image(
            f"{proxy.host}/redirect/src:v1",
            f"{destination.host}/redirect/copied:v1",
            registry_options=options,
        )
        assert result.digest == image.digest
        assert redirect.fired >= len(image.blobs) + 1  # config, both layers, and the pipe's
        for digest in image.blobs:
            assert storage.served(digest), digest
        # the regular path (the pipe alone asks for "identity")
        assert storage.served(small)[0].headers.get("accept-encoding") != "identity"
        assert all("sig=opaque" in r.path for r in storage.requests)
        # The registry's bearer token went to the registry, never to the storage.
        assert not [r for r in storage.requests if "authorization" in r.headers]
    stored = httpx.get(
        f"{destination.url}/v2/redirect/copied/manifests/v1",
        headers={"Accept": image.media_type},
        timeout=30,
    )
    assert stored.headers["Docker-Content-Digest"] == image.digest
    for digest in image.blobs:
        head = httpx.head(f"{destination.url}/v2/redirect/copied/blobs/{digest}", timeout=30)
        assert head.status_code == 200, digest


def test_an_insecure_registry_still_verifies_the_storage_it_redirects_to(
    registry_factory: Callable[..., Registry],
    token_server: TokenServer,
    tls: TlsFiles,
) -> None:
    """``insecure`` is the registry's alone: the HTTPS storage its reads redirect to
    is verified (refused until its CA is given), and gets none of its credentials."""
    source = registry_factory(token=token_server.token_auth_config())
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(30_000,))
    (layer,) = image.layer_digests
    with FaultProxy(source.host) as proxy, BlobStorage(image.blobs, tls=tls.server) as storage:
        login = StaticCredentials({proxy.host: Credential(HTPASSWD_USER, HTPASSWD_PASSWORD)})
        with RegistryClient(proxy.host, RegistryOptions(credentials=login)) as seeding:
            seeding.upload_blob(
                "redirect/insecure", layer, len(image.blobs[layer]), image.blobs[layer]
            )
        proxy.add(
            Fault("redirect", method="GET", path=r"/blobs/sha256:", times=None,
                  location=f"{storage.url}{{target}}?sig=opaque"),
        )  # fmt: skip
        insecure = RegistryOptions.from_environment(insecure_registries=[proxy.host])
        with (
            RegistryClient(proxy.host, replace(insecure, credentials=login)) as client,
            pytest.raises(NetworkError) as refused,
        ):
            client.get_blob_bytes("redirect/insecure", layer)
        assert "certificate" in refused.value.message.lower()
        trusting = replace(insecure, credentials=login, ca_file=tls.ca)
        with RegistryClient(proxy.host, trusting) as client:
            assert client.get_blob_bytes("redirect/insecure", layer) == image.blobs[layer]
        assert storage.served(layer)
        assert not [r for r in storage.requests if "authorization" in r.headers]
