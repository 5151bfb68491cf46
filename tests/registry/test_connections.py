"""The bottom of the transport: pooled ``http.client`` connections (``connections.py``).

Against a real registry, through the counting and fault-injecting proxy where a
fault is needed, and against small socket servers of the test's own for what no
registry does on demand (closing a kept connection, a CONNECT proxy).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from contextlib import closing, suppress

import pytest

from promoter.registry.transport.connections import Connections, proxy_for
from promoter.registry.transport.deadline import DeadlineExceeded, within
from promoter.registry.transport.wire import (
    ConnectError,
    ReadError,
    RemoteProtocolError,
    Request,
    WriteError,
)
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.images import make_image, push_http
from tests.support.registry import Registry
from tests.support.tls import TlsFiles

pytestmark = pytest.mark.registry


def _connections(verify: ssl.SSLContext | bool = False, **kwargs: object) -> Connections:
    return Connections(
        verify=verify, connect_timeout=5, stall_timeout=5, max_connections=4,
        user_agent="promoter-tests", **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def layer(registry: Registry) -> tuple[str, bytes]:
    image = make_image(seed=secrets.token_hex(4), layer_sizes=(300_000,))
    push_http(image, registry.url, "conn/app", "v1")
    (digest,) = image.layer_digests
    return digest, image.blobs[digest]


def test_requests_share_one_keep_alive_connection(registry: Registry) -> None:
    with FaultProxy(registry.host) as proxy, closing(_connections()) as pool:
        for _ in range(5):
            answer = pool.send(Request("GET", f"{proxy.url}/v2/"))
            assert answer.status_code == 200
            answer.read()
        assert proxy.connections == 1
        assert [e.status for e in proxy.exchanges()] == [200] * 5


def test_an_answer_left_unread_drops_its_connection(
    registry: Registry, layer: tuple[str, bytes]
) -> None:
    digest, data = layer
    url_of = lambda base: f"{base}/v2/conn/app/blobs/{digest}"  # noqa: E731
    with FaultProxy(registry.host) as proxy, closing(_connections()) as pool:
        first = pool.send(Request("GET", url_of(proxy.url)))
        assert next(first.iter_raw())  # a piece, not the whole 300 kB
        first.close()
        whole = pool.send(Request("GET", url_of(proxy.url)))
        assert whole.read() == data  # not the bytes the first answer left behind
        assert proxy.connections == 2


def test_a_body_cut_short_is_a_protocol_error_and_a_reset_a_read_error(
    registry: Registry, layer: tuple[str, bytes]
) -> None:
    digest, _ = layer
    with FaultProxy(registry.host) as proxy, closing(_connections()) as pool:
        url = f"{proxy.url}/v2/conn/app/blobs/{digest}"
        proxy.add(Fault("truncate", method="GET", path="/blobs/", after_bytes=100_000))
        with pytest.raises(RemoteProtocolError, match="before the whole answer"):
            pool.send(Request("GET", url)).read()
        proxy.add(Fault("reset", method="GET", path="/blobs/", after_bytes=100_000))
        with pytest.raises((ReadError, RemoteProtocolError)):
            pool.send(Request("GET", url)).read()
        assert pool.send(Request("GET", url)).read()  # and the pool goes on


def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with closing(_connections()) as pool, pytest.raises(ConnectError) as raised:
        pool.send(Request("GET", f"http://127.0.0.1:{port}/v2/"))
    assert isinstance(raised.value.__cause__, OSError)


def test_a_stalled_answer_ends_at_the_deadline(registry: Registry) -> None:
    with FaultProxy(registry.host) as proxy, closing(_connections()) as pool:
        proxy.add(Fault("stall", method="GET", path="/v2/", seconds=10))
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded), within(0.5, "ping: no answer in 0.5 s"):
            pool.send(Request("GET", f"{proxy.url}/v2/")).read()
        assert time.monotonic() - started < 3


def test_an_iterator_body_without_a_length_goes_chunked(registry: Registry) -> None:
    data = secrets.token_bytes(200_000)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    pieces = (data[i : i + 30_000] for i in range(0, len(data), 30_000))
    with closing(_connections()) as pool:
        started = pool.send(Request("POST", f"{registry.url}/v2/conn/chunked/blobs/uploads/"))
        started.read()
        location = started.headers["Location"]
        patched = pool.send(Request("PATCH", location, content=pieces))
        patched.read()
        assert patched.status_code == 202
        location = patched.headers["Location"]
        put = pool.send(Request("PUT", f"{location}&digest={digest}"))
        put.read()
        assert put.status_code == 201
        head = pool.send(Request("HEAD", f"{registry.url}/v2/conn/chunked/blobs/{digest}"))
        assert head.headers["Content-Length"] == str(len(data))


# -- a server of the test's own ------------------------------------------------------


class _Loopback:
    """A TCP server on loopback, each accepted connection handled on a thread of its own."""

    def __init__(self) -> None:
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(sock, self.connections), daemon=True).start()

    def _one(self, sock: socket.socket, number: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._listener.close()


class _Server(_Loopback):
    """Answers each request on a connection with 200 "ok"; ``after`` says what to do
    after each answer (by the connection's count of requests): keep it, or close."""

    def __init__(self, after: Callable[[int, int], str]) -> None:
        self._after = after
        self.requests: list[bytes] = []
        super().__init__()

    def _one(self, sock: socket.socket, number: int) -> None:
        with sock:
            served = 0
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                self.requests.append(head.split(b"\r\n", 1)[0])
                served += 1
                what = self._after(number, served)
                if what == "drop":  # read the request, close without an answer
                    return
                if what == "reset":  # the same, as a reset (a close with data unread)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                if what == "close":
                    return


def test_a_kept_connection_the_server_closed_is_not_reused() -> None:
    server = _Server(lambda connection, served: "close")  # one answer per connection
    with closing(server), closing(_connections()) as pool:
        for _ in range(3):
            answer = pool.send(Request("GET", f"http://127.0.0.1:{server.port}/x"))
            assert answer.read() == b"ok"
            time.sleep(0.05)  # the server's close has arrived
        assert server.connections == 3
        assert len(server.requests) == 3  # none was sent on a closed connection


def _drops_its_second_request(how: str = "drop") -> _Server:
    """A server whose first connection answers once, then drops the second request
    unanswered: closed (``drop``), or reset (``reset``)."""
    return _Server(lambda connection, served: how if connection == 1 and served == 2 else "keep")


@pytest.mark.parametrize("how", ["drop", "reset"])
def test_a_request_a_kept_connection_drops_goes_once_more_on_a_new_one(how: str) -> None:
    server = _drops_its_second_request(how)
    with closing(server), closing(_connections()) as pool:
        url = f"http://127.0.0.1:{server.port}/x"
        assert pool.send(Request("GET", url)).read() == b"ok"
        assert pool.send(Request("PUT", url, content=b"again")).read() == b"ok"
        assert server.connections == 2
        assert server.requests == [b"GET /x HTTP/1.1", b"PUT /x HTTP/1.1", b"PUT /x HTTP/1.1"]


@pytest.mark.parametrize("how", ["drop", "reset"])
def test_a_body_that_cannot_go_again_is_not_sent_twice(how: str) -> None:
    server = _drops_its_second_request(how)
    with closing(server), closing(_connections()) as pool:
        url = f"http://127.0.0.1:{server.port}/x"
        assert pool.send(Request("GET", url)).read() == b"ok"
        once = iter([b"stream"])
        # Dead while the body went (a reset) or before the answer: either way, raised.
        with pytest.raises((RemoteProtocolError, WriteError)):
            pool.send(Request("PUT", url, content=once, headers={"Content-Length": "6"}))
        assert server.requests == [b"GET /x HTTP/1.1", b"PUT /x HTTP/1.1"]


# -- proxies -------------------------------------------------------------------------


def test_proxies_come_from_the_environment_never_for_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example.invalid")
    assert proxy_for("https", "registry.example.invalid") == "http://proxy.example.invalid:3128"
    assert proxy_for("https", "acr.internal.example.invalid") is None
    assert proxy_for("http", "registry.example.invalid") is None  # no HTTP_PROXY
    assert proxy_for("https", "127.0.0.1:5000") is None
    assert proxy_for("https", "[::1]:5000") is None


class _TunnelProxy(_Loopback):
    """A CONNECT proxy on loopback: records each tunnel's head, then relays bytes."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        super().__init__()

    def _one(self, client: socket.socket, number: int) -> None:
        self._tunnel(client)

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        self.heads.append(head)
        target = head.split(b" ")[1].decode()
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        back = threading.Thread(target=_relay, args=(upstream, client), daemon=True)
        back.start()
        _relay(client, upstream)
        back.join()
        client.close()
        upstream.close()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    """Bytes from ``source`` to ``sink`` until ``source`` ends; then the end of ``sink``'s
    writing, so the other direction ends on its own (the tunnel closes both after)."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:  # the peer reset the connection
        pass
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def test_an_https_registry_is_reached_through_a_connect_tunnel(
    htpasswd_registry: Registry, tls: TlsFiles
) -> None:
    proxy = _TunnelProxy()
    via = f"http://someone:p%40ss@127.0.0.1:{proxy.port}"
    verify = ssl.create_default_context(cafile=tls.ca)
    with closing(proxy), closing(_connections(verify, proxy=lambda scheme, host: via)) as pool:
        answer = pool.send(Request("GET", f"https://{htpasswd_registry.host}/v2/"))
        assert answer.status_code == 401  # the registry's own answer, TLS verified end to end
        answer.read()
    (head,) = proxy.heads
    assert head.startswith(f"CONNECT {htpasswd_registry.host} HTTP/".encode())
    expected = base64.b64encode(b"someone:p@ss").decode()
    assert f"Proxy-Authorization: Basic {expected}".encode() in head
