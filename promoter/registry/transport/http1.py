"""One HTTP/1.1 connection to a registry (or its storage), on ``http.client``.

``Connection`` is made under the thread's deadline (``deadline.timeout_now``), TLS
wrapped with the context it is given, through the environment's proxy when there is
one (``proxy_for``: a ``CONNECT`` tunnel for https, the absolute URL for http), and its
socket then keeps every read and write to the thread's scope (``DeadlineSocket``).
``write_request`` writes one ``wire.Request`` on it and ``read_answer`` reads the
answer's head; ``answer_response`` turns that into a ``wire.Response`` whose body
(``AnswerBody``) is read on demand, in pieces of up to ``READ_PIECE`` bytes.
``Connections`` (``connections.py``) pools them.

Failures come out as ``wire``'s transport errors, named as the retry table knows
them; the ``ssl`` or ``OSError`` behind one is its ``__cause__``. A kept connection
found dead before any byte of its answer raises ``DeadBeforeAnswer`` (the pool sends
the request once more on a new one when its body can go again).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterable, Iterator

from promoter.registry.access.options import is_loopback
from promoter.registry.transport.deadline import DeadlineExceeded, DeadlineSocket, timeout_now
from promoter.registry.transport.wire import (
    ConnectError,
    ConnectTimeout,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    Request,
    Response,
    TransportError,
    UnsupportedProtocol,
    WriteError,
    WriteTimeout,
)

__all__ = [
    "KEEPALIVE_EXPIRY", "READ_PIECE", "AnswerBody", "Connection", "DeadBeforeAnswer", "Origin",
    "answer_response", "proxy_for", "read_answer", "split_url", "unverified_context",
    "write_request",
]  # fmt: skip

#: Bytes asked of the socket per piece of a response body.
READ_PIECE = 512 * 1024
#: An idle connection older than this is closed rather than reused.
KEEPALIVE_EXPIRY = 5.0

Origin = tuple[str, str, int]


def unverified_context() -> ssl.SSLContext:
    """TLS that checks nothing: an insecure registry's own (``--insecure-registry``)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def proxy_for(scheme: str, host: str) -> str | None:
    """The proxy URL the environment gives for ``scheme://host``, or None (always None
    for a loopback host, and for one ``NO_PROXY`` names)."""
    if is_loopback(host):
        return None
    import urllib.request  # here, not at the top: only a remote host asks; +20 modules, 6 ms

    proxies = urllib.request.getproxies_environment()
    chosen = proxies.get(scheme) or proxies.get("all")
    if not chosen:
        return None
    name = host.rsplit(":", 1)[0].strip("[]") if not host.endswith("]") else host.strip("[]")
    bypass = getattr(urllib.request, "proxy_bypass_environment", None)  # not in the stubs
    if bypass is not None and bypass(name, proxies):
        return None
    return chosen if "://" in chosen else f"http://{chosen}"


def _ascii_name(host: str) -> str | bytes:
    """``host`` as the resolver and TLS are given it: an ASCII name as its bytes, which
    are what the ``idna`` codec would make of it. A str would be encoded by that codec,
    whose first use imports it with ``stringprep`` and ``unicodedata``: 3-4 ms of a
    start that only connects to ``localhost`` (issue #24). Any other name stays a str."""
    return host.encode("ascii") if host.isascii() else host


def _create_connection(
    address: tuple[str, int], timeout: float | None, source: tuple[str, int] | None = None
) -> socket.socket:
    host, port = address
    # the stubs say str; the resolver (getaddrinfo) takes bytes as well
    name: str = _ascii_name(host)  # type: ignore[assignment]
    return socket.create_connection((name, port), timeout, source)


class Connection(http.client.HTTPConnection):
    """One connection, made under the thread's deadline, TLS wrapped, sockets bounded."""

    def __init__(
        self,
        origin: Origin,
        *,
        tls: ssl.SSLContext | None,
        connect_timeout: float | None,
        stall: float | None,
        proxy: str | None,
    ) -> None:
        scheme, host, port = origin
        self._tls = tls
        self._tls_host = host
        self._connect_timeout = connect_timeout
        self._stall = stall
        self.origin = origin
        self.absolute_target = False
        self.idle_since = 0.0
        if proxy is None:
            super().__init__(host, port)
        else:
            parts = urllib.parse.urlsplit(proxy)
            super().__init__(parts.hostname or "", parts.port or 80)
            if scheme == "https":
                self.set_tunnel(host, port, headers=_proxy_auth(parts))
            else:
                self.absolute_target = True
                self.proxy_headers = _proxy_auth(parts)
        self._create_connection = _create_connection

    def connect(self) -> None:
        self.timeout = timeout_now(self._connect_timeout)
        try:
            super().connect()  # TCP, and the CONNECT tunnel through a proxy
            if self._tls is not None:
                self.sock = self._tls.wrap_socket(
                    self.sock, server_hostname=_ascii_name(self._tls_host)
                )
        except DeadlineExceeded:
            raise
        except TimeoutError as error:
            raise ConnectTimeout(f"connecting to {self._tls_host}: timed out") from error
        except ssl.SSLError as error:
            raise ConnectError(f"{self._tls_host}: TLS handshake: {error}") from error
        except OSError as error:
            if "Tunnel connection failed" in str(error):
                raise ProxyError(str(error)) from error
            raise ConnectError(f"connecting to {self._tls_host}: {error}") from error
        self.sock = DeadlineSocket(self.sock, self._stall)

    def dead(self) -> bool:
        """An idle connection the server closed (or wrote to) is not to be reused."""
        if self.sock is None or time.monotonic() - self.idle_since > KEEPALIVE_EXPIRY:
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


def _proxy_auth(parts: urllib.parse.SplitResult) -> dict[str, str]:
    if parts.username is None:
        return {}
    import base64  # here, not at the top: only a proxy with credentials; 1 ms

    pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}


def write_request(connection: Connection, request: Request, target: str, user_agent: str) -> None:
    """Write ``request`` (head and body) on ``connection``, connecting it first if need be."""
    if connection.absolute_target:
        target = request.url
    headers = request.headers
    body = request.content
    try:
        if connection.sock is None:
            connection.connect()
        if request.on_headers is not None:
            request.on_headers()
        connection.putrequest(request.method, target, skip_accept_encoding=True)
        names = set()
        for name, value in headers.multi_items():
            connection.putheader(name, value)
            names.add(name.lower())
        if "user-agent" not in names:
            connection.putheader("User-Agent", user_agent)
        for name, value in getattr(connection, "proxy_headers", {}).items():
            connection.putheader(name, value)
        if isinstance(body, bytes):
            if "content-length" not in names:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
        elif body is None:
            if request.method in ("POST", "PUT", "PATCH") and "content-length" not in names:
                connection.putheader("Content-Length", "0")
            connection.endheaders()
        elif "content-length" in names:
            connection.endheaders()
            for piece in body:
                connection.send(piece)
        else:
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders(_nonempty(body), encode_chunked=True)
    except (TransportError, DeadlineExceeded):
        raise
    except TimeoutError as error:
        raise WriteTimeout(
            f"{request.method} {request.url}: the registry stopped taking the request"
        ) from error
    except (BrokenPipeError, ConnectionResetError) as error:
        raise DeadBeforeAnswer(WriteError(f"{request.method} {request.url}: {error}")) from error
    except (OSError, http.client.HTTPException) as error:
        raise WriteError(f"{request.method} {request.url}: {error}") from error


def read_answer(connection: Connection, request: Request) -> http.client.HTTPResponse:
    """The head of the answer to the request just written on ``connection``."""
    try:
        return connection.getresponse()
    except DeadlineExceeded:
        raise
    except TimeoutError as error:
        raise ReadTimeout(f"{request.method} {request.url}: no answer in time") from error
    except ConnectionResetError as error:  # http.client's RemoteDisconnected, or a reset:
        # a server that closes with part of the request unread resets the connection
        failure = RemoteProtocolError("the server disconnected without sending an answer")
        raise DeadBeforeAnswer(failure) from error
    except (http.client.HTTPException, ValueError) as error:
        raise RemoteProtocolError(f"{request.method} {request.url}: {error!r}") from error
    except OSError as error:
        raise ReadError(f"{request.method} {request.url}: {error}") from error


class DeadBeforeAnswer(Exception):
    """A kept connection turned out dead before any byte of the answer came back."""

    def __init__(self, error: TransportError) -> None:
        super().__init__(str(error))
        self.error = error


def _nonempty(body: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces of ``body`` but empty ones (an empty chunk would end a chunked body)."""
    for piece in body:
        if piece:
            yield piece


def split_url(url: str) -> tuple[Origin, str]:
    """The origin (scheme, host, port) of ``url``, and its path and query."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsupportedProtocol(f"{url}: the scheme must be http or https")
    if not parts.hostname:
        raise UnsupportedProtocol(f"{url}: no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, host, port), target


class AnswerBody:
    """An ``http.client`` answer's body in pieces; at its end, the connection goes back."""

    def __init__(self, answer: http.client.HTTPResponse, done: object) -> None:
        self._answer = answer
        self._done = done
        self._finished = False

    def __iter__(self) -> Iterator[bytes]:
        answer = self._answer
        while True:
            try:
                piece = answer.read1(READ_PIECE)
            except DeadlineExceeded:
                raise
            except TimeoutError as error:
                raise ReadTimeout("the registry stopped sending") from error
            except http.client.IncompleteRead as error:
                raise RemoteProtocolError(
                    "the connection closed before the whole answer arrived"
                ) from error
            except (http.client.HTTPException, ValueError) as error:
                raise RemoteProtocolError(f"a garbled answer body: {error!r}") from error
            except OSError as error:
                raise ReadError(f"reading the answer: {error}") from error
            if not piece:
                if answer.length:  # the server closed before the length it announced
                    raise RemoteProtocolError(
                        "the connection closed before the whole answer arrived "
                        f"({answer.length} bytes missing)"
                    )
                self._finish(reusable=not answer.will_close)
                return
            yield piece

    def close(self) -> None:
        # An answer left before its end leaves bytes on the connection: drop it.
        self._finish(reusable=self._answer.isclosed() and not self._answer.will_close)

    def _finish(self, *, reusable: bool) -> None:
        if self._finished:
            return
        self._finished = True
        self._answer.close()
        self._done(reusable)  # type: ignore[operator]


def answer_response(answer: http.client.HTTPResponse, request: Request, done: object) -> Response:
    body = AnswerBody(answer, done)
    response = Response(answer.status, headers=answer.getheaders(), stream=body, request=request)
    if request.method == "HEAD" or answer.status in (204, 304) or answer.length == 0:
        response.read()  # nothing to read: the connection goes back at once
    return response
