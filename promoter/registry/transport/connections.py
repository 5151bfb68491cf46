"""HTTP/1.1 to registries on the standard library: pooled ``http.client`` connections.

``Connections`` is the bottom of the transport (``Exchange`` sends through it): it
keeps idle keep-alive connections per origin, at most ``max_connections`` open at
once, and sends one ``wire.Request`` on one of them.

- **TLS** with the context the trust roots made (``verify``, or the function that
  makes it, called at the first TLS connection: a registry that speaks plain HTTP
  loads no roots), or none checked for an insecure registry; the server name is the
  registry's host.
- **Proxies** as every tool honours them: ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
  ``ALL_PROXY`` and ``NO_PROXY``, read by the standard library's ``urllib.request``
  (the one reader of those variables besides subprocesses; never for a loopback host).
  An https origin goes through a ``CONNECT`` tunnel, an http one to the proxy with the
  absolute URL.
- **Deadlines**: the sockets keep to the thread's scope
  (``promoter.registry.transport.deadline``): the connect, each write and each read
  wait no longer than what the scope leaves, or the stall timeout.
- **Streaming**: a body of bytes goes with its length; an iterator with the
  ``Content-Length`` the caller set, else chunked. The answer's body stays unread
  for the caller (``Response.iter_raw``), in pieces of up to ``READ_PIECE`` bytes.
- **Reuse**: a connection goes back to the pool when its answer was read to the end
  and the server keeps it open; an idle one the server closed (readable before a
  request) is dropped, and a request that finds a kept connection dead before any
  answer byte goes once more on a new one (when its body can be sent again).

Failures come out as ``wire``'s transport errors, named as the retry table knows
them; the ``ssl`` or ``OSError`` behind one is its ``__cause__``.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Callable

from promoter.registry.transport.http1 import (
    Connection,
    DeadBeforeAnswer,
    Origin,
    answer_response,
    proxy_for,
    read_answer,
    split_url,
    unverified_context,
    write_request,
)
from promoter.registry.transport.wire import Request, Response

__all__ = ["Connections", "proxy_for", "unverified_context"]


class Connections:
    """Pooled HTTP/1.1 connections to the origins one registry uses (thread-safe)."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | Callable[[], ssl.SSLContext] | bool,
        connect_timeout: float | None,
        stall_timeout: float | None,
        max_connections: int,
        user_agent: str,
        use_proxies: bool = True,
        proxy: Callable[[str, str], str | None] = proxy_for,
    ) -> None:
        self._verify = verify
        self._connect_timeout = connect_timeout
        self._stall = stall_timeout
        self._max = max(1, max_connections)
        self._user_agent = user_agent
        self._use_proxies = use_proxies
        #: The proxy URL for (scheme, host), or None: the environment's (``proxy_for``).
        self._proxy = proxy
        self._idle: dict[Origin, list[Connection]] = {}
        self._open = 0
        self._lock = threading.Condition()
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    # -- the pool ---------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                verify = self._verify
                if isinstance(verify, ssl.SSLContext):
                    self._tls = verify
                elif callable(verify):
                    self._tls = verify()
                else:
                    self._tls = ssl.create_default_context() if verify else unverified_context()
            return self._tls

    def _take(self, origin: Origin) -> tuple[Connection | None, bool]:
        """An idle live connection to ``origin`` (reused: True), or room for a new one."""
        with self._lock:
            while True:
                idle = self._idle.get(origin, [])
                while idle:
                    connection = idle.pop()
                    if not connection.dead():
                        return connection, True
                    connection.close()
                    self._open -= 1
                if self._open < self._max:
                    self._open += 1
                    return None, False
                if not self._drop_an_idle_one():
                    self._lock.wait()

    def _drop_an_idle_one(self) -> bool:
        for connections in self._idle.values():
            if connections:
                connections.pop(0).close()
                self._open -= 1
                return True
        return False

    def _new(self, origin: Origin) -> Connection:
        scheme, host, _port = origin
        proxy = self._proxy(scheme, host) if self._use_proxies else None
        return Connection(
            origin,
            tls=self._context() if scheme == "https" else None,
            connect_timeout=self._connect_timeout,
            stall=self._stall,
            proxy=proxy,
        )

    def give_back(self, connection: Connection, reusable: bool) -> None:
        """A connection whose answer is done: kept for the next request, or closed."""
        with self._lock:
            if reusable and not self._closed:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(connection.origin, []).append(connection)
            else:
                connection.close()
                self._open -= 1
            self._lock.notify()

    def close(self) -> None:
        """Close every idle connection (answers still being read close their own)."""
        with self._lock:
            self._closed = True
            for connections in self._idle.values():
                for connection in connections:
                    connection.close()
                    self._open -= 1
            self._idle.clear()
            self._lock.notify_all()

    # -- one exchange -----------------------------------------------------------------

    def send(self, request: Request) -> Response:
        """Send ``request``; its answer's body is left unread (``Response.iter_raw``)."""
        origin, target = split_url(request.url)
        replayable = request.content is None or isinstance(request.content, bytes)
        connection, reused = self._take(origin)
        while True:
            if connection is None:
                connection = self._new(origin)
            try:
                answer = self._exchange(connection, request, target)
            except DeadBeforeAnswer as dead:
                self.give_back(connection, reusable=False)
                if not (reused and replayable):
                    raise dead.error from dead.__cause__
                # Once more on a new connection: the other kept ones may be as stale.
                connection, reused = self._take_new(origin)
                continue
            except BaseException:
                self.give_back(connection, reusable=False)
                raise
            return answer_response(
                answer, request, lambda keep, c=connection: self.give_back(c, keep)
            )

    def _take_new(self, origin: Origin) -> tuple[None, bool]:
        with self._lock:
            while self._open >= self._max and not self._drop_an_idle_one():
                self._lock.wait()
            self._open += 1
        return None, False

    def _exchange(
        self, connection: Connection, request: Request, target: str
    ) -> http.client.HTTPResponse:
        write_request(connection, request, target, self._user_agent)
        return read_answer(connection, request)
