"""A fault-injecting HTTP/1.1 proxy for tests, in front of a real registry.

A real registry will not reset a connection in the middle of a blob, answer
503 or 429 on demand, truncate a body or stall; this proxy does, by rule, and
forwards everything else byte for byte (keep-alive, chunked bodies included).
It listens on 127.0.0.1 only and forwards to one loopback upstream.

It also counts: every exchange is logged (method, path, status, request and
response body bytes), which is how tests and the benchmark assert that a
mount moved no blob bytes or that a re-run cost one request per image.

    proxy = FaultProxy(registry.host).start()
    proxy.add(Fault("reset", method="GET", path=r"/blobs/sha256:", after_bytes=65536))
    ... copy through proxy.host ...
    assert proxy.count(method="PATCH") == 0
    proxy.stop()

Fault kinds:

* ``status``: answer ``status`` (default 503) without reaching the registry,
  with an OCI error body (``TOOMANYREQUESTS`` for 429) and ``Retry-After``
  when ``retry_after`` is set.
* ``reset``: forward, then reset the client connection (TCP RST) once
  ``after_bytes`` bytes of the response body (or, with ``during="request"``, of
  the request body) have passed.
* ``truncate``: forward the response head with its full length, then close the
  connection cleanly after ``after_bytes`` body bytes.
* ``stall``: like reset, but first hold the connection silent for ``seconds``.
* ``redirect``: answer ``307`` without reaching the registry, with a
  ``Location`` made from ``location`` (``{target}`` becomes the request's path
  and query), as a registry does that serves blobs from storage.
"""

from __future__ import annotations

import contextlib
import re
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Exchange", "Fault", "FaultProxy"]

_BUF = 256 * 1024


@dataclass
class Fault:
    """One injectable fault: what (``kind``), on which requests, how many times.

    ``method`` (exact, None for any) and ``path`` (a regex searched in the path
    and query) select requests; the first ``skip`` matches pass untouched, then
    the fault fires ``times`` times (None: forever). ``fired`` counts firings.
    """

    kind: str
    method: str | None = None
    path: str = ""
    times: int | None = 1
    skip: int = 0
    status: int = 503
    retry_after: str | None = None
    after_bytes: int = 0
    during: str = "response"
    seconds: float = 30.0
    location: str = ""
    fired: int = 0
    seen: int = 0

    def __post_init__(self) -> None:
        if self.kind == "redirect":
            self.status = 307
        if self.kind not in ("status", "redirect", "reset", "truncate", "stall"):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.during not in ("request", "response"):
            raise ValueError(f"during must be request or response, not {self.during!r}")

    def matches(self, method: str, target: str, phase: str, body: int | None) -> bool:
        """Whether this request selects the fault (and it has firings left).

        ``phase`` is ``status`` (before forwarding), ``request`` or ``response``
        (a mid-body fault, once that body's length is known: ``body``, or None when
        it is chunked). A body no longer than ``after_bytes`` cannot break part
        way, so it neither selects the fault nor uses up a firing; with
        ``after_bytes`` 0 the fault fires before any of the message is passed on.
        """
        if phase != ("status" if self.kind in ("status", "redirect") else self.during):
            return False
        if phase != "status" and self.after_bytes and body is not None and body <= self.after_bytes:
            return False
        if self.method is not None and method != self.method:
            return False
        if self.path and not re.search(self.path, target):
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        self.fired += 1
        return True


@dataclass
class Exchange:
    """One request through the proxy, as counted."""

    method: str
    path: str
    status: int = 0
    request_bytes: int = 0
    response_bytes: int = 0
    fault: str | None = None
    #: Whether the fault took effect (a mid-body fault only does once ``after_bytes`` pass).
    fired: bool = False
    started: float = field(default_factory=time.monotonic)


class _Reader:
    """Buffered reads over a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        data = self.sock.recv(_BUF)
        if not data:
            return False
        self.buf += data
        return True

    def readline(self, limit: int = 65536) -> bytes:
        while b"\n" not in self.buf:
            if len(self.buf) > limit or not self._fill():
                line, self.buf = self.buf, b""
                return line
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def read_some(self, limit: int) -> bytes:
        if not self.buf and not self._fill():
            return b""
        piece, self.buf = self.buf[:limit], self.buf[limit:]
        return piece

    def head(self) -> list[bytes] | None:
        lines: list[bytes] = []
        while True:
            line = self.readline()
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                return lines
            lines.append(line)


class _Abort(Exception):
    """The connection is to be dropped (fault fired or peer went away)."""


def _header(lines: list[bytes], name: str) -> str | None:
    wanted = name.lower().encode()
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == wanted:
            return value.strip().decode("latin-1")
    return None


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class _Budget:
    """Forwards body bytes, firing a mid-body fault once ``after_bytes`` have passed."""

    def __init__(
        self,
        proxy: FaultProxy,
        fault: Fault | None,
        client: socket.socket,
        exchange: Exchange | None = None,
    ) -> None:
        self.proxy = proxy
        self.fault = fault
        self.client = client
        self.exchange = exchange
        self.passed = 0

    def send(self, out: socket.socket, data: bytes, *, body: bool) -> None:
        if body and self.fault is not None:
            room = self.fault.after_bytes - self.passed
            if len(data) >= room:
                if room > 0:
                    out.sendall(data[:room])
                    self.passed += room
                self._fire()
        out.sendall(data)
        if body:
            self.passed += len(data)

    def fire(self) -> None:
        """Break the connection now, as the fault says."""
        self._fire()

    def _fire(self) -> None:
        assert self.fault is not None
        if self.exchange is not None:
            self.exchange.fired = True
        if self.fault.kind == "stall":
            self.proxy._stopping.wait(self.fault.seconds)
        if self.fault.kind == "truncate":
            with contextlib.suppress(OSError):
                self.client.shutdown(socket.SHUT_RDWR)
            self.client.close()
        else:
            _reset(self.client)
        raise _Abort()


def _forward_body(
    reader: _Reader, out: socket.socket, framing: tuple[str, int], budget: _Budget
) -> int:
    """Forward one message body as framed (length, chunked or to close); return payload bytes."""
    kind, length = framing
    total = 0
    if kind == "length":
        remaining = length
        while remaining > 0:
            piece = reader.read_some(min(remaining, _BUF))
            if not piece:
                raise _Abort()
            budget.send(out, piece, body=True)
            remaining -= len(piece)
            total += len(piece)
    elif kind == "chunked":
        while True:
            size_line = reader.readline()
            if not size_line:
                raise _Abort()
            budget.send(out, size_line, body=False)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    trailer = reader.readline()
                    budget.send(out, trailer, body=False)
                    if trailer in (b"\r\n", b"\n", b""):
                        return total
            remaining = size
            while remaining > 0:
                piece = reader.read_some(min(remaining, _BUF))
                if not piece:
                    raise _Abort()
                budget.send(out, piece, body=True)
                remaining -= len(piece)
                total += len(piece)
            budget.send(out, reader.readline(), body=False)  # CRLF after the chunk
    elif kind == "close":
        while True:
            piece = reader.read_some(_BUF)
            if not piece:
                return total
            budget.send(out, piece, body=True)
            total += len(piece)
    return total


def _length(framing: tuple[str, int]) -> int | None:
    """A body's length when its framing declares it."""
    return framing[1] if framing[0] == "length" else None


def _request_framing(head: list[bytes]) -> tuple[str, int]:
    if (_header(head, "Transfer-Encoding") or "").lower().endswith("chunked"):
        return ("chunked", 0)
    return ("length", int(_header(head, "Content-Length") or 0))


def _response_framing(method: str, status: int, head: list[bytes]) -> tuple[str, int]:
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return ("length", 0)
    if (_header(head, "Transfer-Encoding") or "").lower().endswith("chunked"):
        return ("chunked", 0)
    length = _header(head, "Content-Length")
    if length is not None:
        return ("length", int(length))
    return ("close", 0)


_REASONS = {408: "Request Timeout", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}  # fmt: skip


class FaultProxy:
    """A threaded loopback proxy that forwards to ``upstream`` (``host:port``) and injects faults."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
            raise ValueError("the fault proxy only forwards to a loopback upstream")
        self.upstream = (host.strip("[]"), int(port))
        self.faults: list[Fault] = []
        self.log: list[Exchange] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._sockets: set[socket.socket] = set()

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Listen on a free 127.0.0.1 port, in a background thread."""
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            for sock in list(self._sockets):
                _reset(sock)
            self._sockets.clear()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT`` where the proxy listens."""
        assert self._server is not None, "start() the proxy first"
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}"

    # -- rules and counters --------------------------------------------------------------

    def add(self, fault: Fault) -> Fault:
        """Arm a fault; returns it (its ``fired`` counts how often it hit)."""
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self.faults.clear()

    def reset_counters(self) -> None:
        """Forget the exchange log and the connection count."""
        with self._lock:
            self.log.clear()
            self.connections = 0

    def exchanges(self, method: str | None = None, path: str | None = None) -> list[Exchange]:
        """The logged exchanges matching ``method`` and the ``path`` regex."""
        with self._lock:
            return [
                x
                for x in self.log
                if (method is None or x.method == method)
                and (path is None or re.search(path, x.path))
            ]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests matched ``method`` and the ``path`` regex."""
        return len(self.exchanges(method, path))

    def uploaded_blob_bytes(self) -> int:
        """Request body bytes sent to blob upload endpoints (POST/PATCH/PUT)."""
        return sum(x.request_bytes for x in self.exchanges(path=r"/blobs/uploads/"))

    def downloaded_blob_bytes(self) -> int:
        """Response body bytes of blob GETs."""
        return sum(x.response_bytes for x in self.exchanges("GET", r"/blobs/sha256:"))

    # -- serving -------------------------------------------------------------------------

    def _pick(self, method: str, target: str, phase: str, body: int | None = None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, target, phase, body):
                    return fault
        return None

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._sockets.add(sock)
            else:
                self._sockets.discard(sock)

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        self._track(client, True)
        # As registries answer (Go's servers set it): a response's head and body go as
        # written. With Nagle's algorithm on, the body waited for the client's delayed
        # ACK of the head, up to 40 ms, whenever the client's kernel delayed it.
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream: socket.socket | None = None
        reader = _Reader(client)
        up_reader: _Reader | None = None
        try:
            first = client.recv(1, socket.MSG_PEEK)
            if first[:1] == b"\x16":
                # A TLS ClientHello on this plain-HTTP port: answer as Go's server does.
                client.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
                return
            while not self._stopping.is_set():
                head = reader.head()
                if not head:
                    return
                method, target = head[0].decode("latin-1").split(" ")[:2]
                exchange = Exchange(method, target)
                with self._lock:
                    self.log.append(exchange)
                fault = self._pick(method, target, "status")
                if fault is not None:
                    exchange.fault = fault.kind
                    exchange.request_bytes = _forward_body(
                        reader, _Sink(), _request_framing(head), _Budget(self, None, client)
                    )
                    exchange.status = fault.status
                    client.sendall(self._status_response(fault, target))
                    continue
                if upstream is None:
                    upstream = socket.create_connection(self.upstream, timeout=120)
                    upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self._track(upstream, True)
                    up_reader = _Reader(upstream)
                assert up_reader is not None
                request_framing = _request_framing(head)
                in_request = self._pick(method, target, "request", _length(request_framing))
                if in_request is not None:
                    exchange.fault = in_request.kind
                    if not in_request.after_bytes:
                        _Budget(self, in_request, client, exchange).fire()
                upstream.sendall(b"".join(head) + b"\r\n")
                budget = _Budget(self, in_request, client, exchange)
                try:
                    _forward_body(reader, upstream, request_framing, budget)
                finally:  # counted even when the body broke part way
                    exchange.request_bytes = budget.passed
                response_head = up_reader.head()
                while response_head and response_head[0].split(b" ")[1].startswith(b"1"):
                    client.sendall(b"".join(response_head) + b"\r\n")  # 100 Continue
                    response_head = up_reader.head()
                if not response_head:
                    raise _Abort()
                status = int(response_head[0].split(b" ")[1])
                exchange.status = status
                framing = _response_framing(method, status, response_head)
                in_response = self._pick(method, target, "response", _length(framing))
                if in_response is not None:
                    exchange.fault = in_response.kind
                    if not in_response.after_bytes:
                        _Budget(self, in_response, client, exchange).fire()
                client.sendall(b"".join(response_head) + b"\r\n")
                budget = _Budget(self, in_response, client, exchange)
                try:
                    _forward_body(up_reader, client, framing, budget)
                finally:
                    exchange.response_bytes = budget.passed
                if framing[0] == "close":
                    return
        except (_Abort, OSError, ValueError, IndexError):
            return
        finally:
            if upstream is not None:
                self._track(upstream, False)
                _reset(upstream)
            self._track(client, False)
            with contextlib.suppress(OSError):
                client.close()

    @staticmethod
    def _status_response(fault: Fault, target: str) -> bytes:
        if fault.kind == "redirect":
            location = fault.location.replace("{target}", target)
            return (
                f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()
        code = "TOOMANYREQUESTS" if fault.status == 429 else "UNAVAILABLE"
        body = (
            f'{{"errors":[{{"code":"{code}","message":"injected by the test fault proxy"}}]}}'
        ).encode()
        lines = [
            f"HTTP/1.1 {fault.status} {_REASONS.get(fault.status, 'Error')}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
        if fault.retry_after is not None:
            lines.append(f"Retry-After: {fault.retry_after}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Sink(socket.socket):
    """A socket stand-in that discards what it is sent (a drained request body)."""

    def __init__(self) -> None:  # no OS socket behind it
        pass

    def sendall(self, data: Any, flags: int = 0) -> None:
        del data, flags
