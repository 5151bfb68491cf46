"""The bottom layers of the transport, each alone against real registries:
the exchange, the redirects (to a real storage stand-in) and the auth flow."""

from __future__ import annotations

import hashlib
import secrets
import ssl
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass

import pytest

from promoter.errors import NetworkError
from promoter.registry.access.credentials import Credential
from promoter.registry.transport import wire
from promoter.registry.transport.auth import Authenticator, pull_scope, push_scope
from promoter.registry.transport.connections import Connections
from promoter.registry.transport.layers import (
    MAX_REDIRECTS,
    AuthFlow,
    Exchange,
    FollowRedirects,
    RegistryRequest,
)
from promoter.registry.transport.layers.exchange import SEND_PIECE
from promoter.registry.transport.stats import TransportStats
from tests.support.blob_storage import BlobStorage
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.fault_transport import connections
from tests.support.images import make_image, push_http
from tests.support.registry import Registry
from tests.support.tls import HTPASSWD_PASSWORD, HTPASSWD_USER, TlsFiles
from tests.support.token_server import TokenServer

pytestmark = pytest.mark.registry


@pytest.fixture
def client() -> Iterator[Connections]:
    opened = connections()
    try:
        yield opened
    finally:
        opened.close()


def _exchange(client: Connections) -> tuple[Exchange, TransportStats]:
    stats = TransportStats()
    return Exchange(lambda: client, stats), stats


# -- the exchange -------------------------------------------------------------


def test_the_exchange_sends_one_request_and_counts_it(
    registry: Registry, client: Connections
) -> None:
    exchange, stats = _exchange(client)
    response = exchange.handle(RegistryRequest("GET", f"{registry.url}/v2/"))
    assert response.status_code == 200
    assert (stats.requests, stats.by_method) == (1, {"GET": 1})
    missing = exchange.handle(RegistryRequest("GET", f"{registry.url}/v2/no/such/manifests/x"))
    assert missing.status_code == 404  # any status comes back: judging it is above
    assert stats.requests == 2


def test_a_large_body_goes_in_pieces_with_params_merged_into_the_location(
    registry: Registry, client: Connections
) -> None:
    """A monolithic upload: the Location's own query (``_state``) survives ``params``,
    and a body over ``SEND_PIECE`` arrives whole."""
    exchange, _ = _exchange(client)
    data = secrets.token_bytes(SEND_PIECE + SEND_PIECE // 2)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = exchange.handle(
        RegistryRequest("POST", f"{registry.url}/v2/layers/exchange/blobs/uploads/")
    )
    assert started.status_code == 202
    location = urllib.parse.urljoin(started.request.url, started.headers["Location"])
    assert "_state=" in location
    done = exchange.handle(
        RegistryRequest("PUT", location, params={"digest": digest}, content=data)
    )
    assert done.status_code == 201, done.text
    assert done.headers["Docker-Content-Digest"] == digest
    assert done.request.headers["Content-Length"] == str(len(data))


def test_a_streamed_answer_is_left_unread(registry: Registry, client: Connections) -> None:
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(50_000,))
    push_http(image, registry.url, "layers/stream", "v1")
    (layer,) = image.layer_digests
    exchange, _ = _exchange(client)
    url = f"{registry.url}/v2/layers/stream/blobs/{layer}"
    response = exchange.handle(RegistryRequest("GET", url, stream=True))
    assert not response.is_stream_consumed
    assert b"".join(response.iter_raw()) == image.blobs[layer]
    assert response.is_closed


# -- redirects ------------------------------------------------------------------


def test_redirects_are_followed_to_storage_without_the_credentials(
    registry: Registry, client: Connections
) -> None:
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(40_000,))
    (layer,) = image.layer_digests
    exchange, stats = _exchange(client)
    with FaultProxy(registry.host) as proxy, BlobStorage(image.blobs) as storage:
        proxy.add(
            Fault("redirect", method="GET", path=r"/blobs/", times=None,
                  location=f"{storage.url}/c{{target}}?sig=opaque")
        )  # fmt: skip
        layer_url = f"{proxy.url}/v2/any/blobs/{layer}"
        headers = {"Authorization": "Bearer registry-only", "Range": "bytes=100-"}
        follow = FollowRedirects(exchange, exchange)

        unfollowed = follow.handle(RegistryRequest("GET", layer_url, headers=headers))
        assert unfollowed.status_code == 307 and not storage.requests

        request = RegistryRequest("GET", layer_url, headers=headers, follow_redirects=True)
        response = follow.handle(request)
        assert response.status_code == 206
        assert response.content == image.blobs[layer][100:]
    (served,) = storage.requests
    assert "sig=opaque" in served.path
    assert "authorization" not in served.headers  # the registry's token stays home
    assert served.headers.get("range") == "bytes=100-"  # the rest of the request goes on
    assert stats.requests == 3


def test_a_redirect_loop_ends_in_a_network_error(registry: Registry, client: Connections) -> None:
    exchange, stats = _exchange(client)
    with FaultProxy(registry.host) as proxy:
        # The registry's own origin, again and again.
        proxy.add(
            Fault("redirect", method="GET", path=r"/blobs/", times=None,
                  location=f"{proxy.url}{{target}}")
        )  # fmt: skip
        url = f"{proxy.url}/v2/any/blobs/sha256:{'0' * 64}"
        with pytest.raises(NetworkError, match="more than 5 redirects"):
            FollowRedirects(exchange, exchange).handle(
                RegistryRequest("GET", url, follow_redirects=True)
            )
    assert stats.requests == MAX_REDIRECTS + 1


def test_an_insecure_registrys_storage_is_verified_by_the_storage_exchange(
    registry: Registry, client: Connections, tls: TlsFiles
) -> None:
    """Cross-origin hops go to the storage handler, whose client verifies TLS."""
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(10_000,))
    (layer,) = image.layer_digests
    exchange, _ = _exchange(client)
    with (
        FaultProxy(registry.host) as proxy,
        BlobStorage(image.blobs, tls=tls.server) as storage,
        closing(connections(verify=False)) as trusting_all,
        closing(connections()) as verifying,
    ):
        proxy.add(
            Fault("redirect", method="GET", path=r"/blobs/", times=None,
                  location=f"{storage.url}{{target}}")
        )  # fmt: skip
        request = RegistryRequest("GET", f"{proxy.url}/v2/any/blobs/{layer}", follow_redirects=True)
        storage_exchange = Exchange(lambda: verifying, TransportStats())
        with pytest.raises(wire.ConnectError, match="CERTIFICATE"):
            FollowRedirects(
                Exchange(lambda: trusting_all, TransportStats()), storage_exchange
            ).handle(request)
        assert (
            FollowRedirects(exchange, Exchange(lambda: trusting_all, TransportStats()))
            .handle(request)
            .content
            == image.blobs[layer]
        )


# -- the auth flow ------------------------------------------------------------


def _authenticator(
    host: str, client: Connections, password: str = HTPASSWD_PASSWORD
) -> Authenticator:
    login = Credential(HTPASSWD_USER, password, source="test login")
    token_exchange, _ = _exchange(client)  # token requests counted apart from the flow's
    return Authenticator(host, lambda: login, lambda: client, token_exchange)


@dataclass
class TokenFlow:
    """An auth flow over a real exchange, to a registry behind the test token server."""

    url: str
    flow: AuthFlow
    auth: Authenticator
    stats: TransportStats


@pytest.fixture
def token_flow(
    registry_factory: Callable[..., Registry], token_server: TokenServer, client: Connections
) -> TokenFlow:
    registry = registry_factory(token=token_server.token_auth_config())
    exchange, stats = _exchange(client)
    auth = _authenticator(registry.host, client)
    return TokenFlow(registry.url, AuthFlow(exchange, auth), auth, stats)


def test_a_401_is_answered_once_with_a_token_then_the_token_is_reused(
    token_flow: TokenFlow,
) -> None:
    flow, auth, stats = token_flow.flow, token_flow.auth, token_flow.stats
    scopes = (pull_scope("layers/auth"),)
    url = f"{token_flow.url}/v2/layers/auth/tags/list"

    first = flow.handle(RegistryRequest("GET", url, scopes=scopes, expect=(200, 404)))
    assert first.status_code == 404  # let in: the repository is merely empty
    assert stats.requests == 2 and auth.token_requests == 1  # 401, then with the token

    again = flow.handle(RegistryRequest("GET", url, scopes=scopes))
    assert again.status_code == 404
    assert stats.requests == 3 and auth.token_requests == 1  # the cached token, no 401


def test_a_body_that_cannot_go_again_gets_the_401_but_the_challenge_is_learned(
    token_flow: TokenFlow,
) -> None:
    flow, stats = token_flow.flow, token_flow.stats
    scopes = (push_scope("layers/auth"),)
    url = f"{token_flow.url}/v2/layers/auth/blobs/uploads/"

    once = flow.handle(RegistryRequest("POST", url, scopes=scopes, content=iter([b""])))
    assert once.status_code == 401 and stats.requests == 1
    signed = flow.handle(RegistryRequest("POST", url, scopes=scopes, content=iter([b""])))
    assert signed.status_code == 202 and stats.requests == 2  # signed from the start


def test_refused_credentials_are_tried_once_more_then_the_401_is_the_answer(
    htpasswd_registry: Registry, tls: TlsFiles
) -> None:
    with closing(connections(verify=ssl.create_default_context(cafile=tls.ca))) as client:
        exchange, stats = _exchange(client)
        auth = _authenticator(htpasswd_registry.host, client, password="wrong")
        flow = AuthFlow(exchange, auth)
        url = f"https://{htpasswd_registry.host}/v2/"
        response = flow.handle(RegistryRequest("GET", url))
        assert response.status_code == 401
        assert stats.requests == 2  # anonymous, then Basic once: never a loop
        assert flow.handle(RegistryRequest("GET", url)).status_code == 401
        assert stats.requests == 3  # Basic from the start, refused, not tried again
