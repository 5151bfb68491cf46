"""An httpx transport whose sockets keep to the thread's deadline or speed floor.

``httpx.HTTPTransport`` takes no network backend; ``httpcore.ConnectionPool``
does (``network_backend``, public). ``DeadlineTransport`` is that pool, built
with ``promoter.registry.transport.deadline.deadline_backend()``, behind httpx's public
``BaseTransport``: an ``httpx.Request`` goes down as an ``httpcore.Request``,
the ``httpcore.Response`` comes back as an ``httpx.Response`` whose body is
read from the pool's stream, and httpcore's exceptions come out as httpx's
of the same name (``httpx.ReadTimeout`` for ``httpcore.ReadTimeout``, ...), as
the retry table and the callers expect. ``DeadlineExceeded`` is promoter's
own and goes through unchanged.

Imported on the first client only: it needs httpx and httpcore at import.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

from promoter.registry.transport.deadline import deadline_backend

__all__ = ["DeadlineTransport"]

#: httpcore's exceptions that httpx raises under the same name (most specific first
#: is found by walking the raised class's MRO).
_SAME_NAMES = frozenset(
    {
        "TimeoutException",
        "ConnectTimeout",
        "ReadTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "NetworkError",
        "ConnectError",
        "ReadError",
        "WriteError",
        "ProxyError",
        "UnsupportedProtocol",
        "ProtocolError",
        "LocalProtocolError",
        "RemoteProtocolError",
    }
)


@contextmanager
def _as_httpx() -> Iterator[None]:
    """Raise httpcore's exceptions as httpx's of the same name (their cause kept)."""
    try:
        yield
    except Exception as error:
        for cls in type(error).__mro__:
            if cls.__module__.startswith("httpcore") and cls.__name__ in _SAME_NAMES:
                raise getattr(httpx, cls.__name__)(str(error)) from error
        raise


class _Body(httpx.SyncByteStream):
    """The pool's response stream, its failures said in httpx's words."""

    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx():
            yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            with _as_httpx():
                close()


class DeadlineTransport(httpx.BaseTransport):
    """HTTP/1.1 over a pooled ``httpcore.ConnectionPool`` with the deadline backend."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
        trust_env: bool = True,
    ) -> None:
        limits = limits or httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=trust_env),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=deadline_backend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on a pooled connection; the body stays unread for httpx."""
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("a registry transport sends synchronously")
        url = request.url
        sent = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx():
            answer = self._pool.handle_request(sent)
        if not isinstance(answer.stream, Iterable):
            raise TypeError("httpcore answered with an asynchronous stream")
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        with _as_httpx():
            self._pool.close()
