"""What travels on the wire: promoter's own HTTP request, response, headers and errors.

The transport speaks HTTP/1.1 through the standard library's ``http.client``
(``promoter.registry.transport.connections``); these are the types the layers
pass up and down. They keep the names a reader of HTTP clients expects
(``status_code``, ``headers.get``, ``read``, ``iter_raw``, ``close``), and the
transport errors keep the class names of the retry table
(``promoter.registry.access.retry.RETRYABLE_EXCEPTIONS``): ``ConnectError``,
``ReadTimeout``, ``RemoteProtocolError``, ...

A ``Response`` whose body was not read holds its connection; reading it to the
end, or closing it, hands the connection back (or drops it when bytes were left).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping

from promoter.structs import Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import overload

__all__ = [
    "REDIRECT_STATUSES",
    "Body",
    "ConnectError",
    "ConnectTimeout",
    "Headers",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Request",
    "Response",
    "Sender",
    "TransportError",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


# -- errors -----------------------------------------------------------------------------


class TransportError(Exception):
    """The exchange failed below HTTP: no (complete) answer came back."""


class ConnectTimeout(TransportError):
    """The connection was not made in time."""


class ReadTimeout(TransportError):
    """The registry stopped sending."""


class WriteTimeout(TransportError):
    """The registry stopped taking what was sent."""


class ConnectError(TransportError):
    """The connection could not be made (refused, unreachable, TLS handshake)."""


class ReadError(TransportError):
    """The connection broke while reading the answer."""


class WriteError(TransportError):
    """The connection broke while sending the request."""


class ProxyError(TransportError):
    """The proxy refused to open the tunnel."""


class UnsupportedProtocol(TransportError):
    """The URL's scheme is not http or https."""


class RemoteProtocolError(TransportError):
    """The other side broke HTTP (closed before the whole answer, a garbled status)."""


# -- headers ----------------------------------------------------------------------------


class Headers:
    """HTTP header fields in order, looked up without regard to case."""

    __slots__ = ("_items",)

    def __init__(
        self, items: Mapping[str, str] | Iterable[tuple[str, str]] | Headers | None = None
    ) -> None:
        if items is None:
            self._items: list[tuple[str, str]] = []
        elif isinstance(items, Headers):
            self._items = list(items._items)
        elif isinstance(items, Mapping):
            self._items = [(str(k), str(v)) for k, v in items.items()]
        else:
            self._items = [(str(k), str(v)) for k, v in items]

    if TYPE_CHECKING:

        @overload
        def get(self, name: str) -> str | None: ...

        @overload
        def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field's values joined with ``, `` (as HTTP reads repeated fields), or ``default``."""
        values = self.get_list(name)
        return ", ".join(values) if values else default

    def get_list(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for k, v in self._items if k.lower() == wanted]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k.lower() for k, _ in self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, str]]:
        """Each field once (repeated ones joined), names in lower case."""
        return [(name, self[name]) for name in self]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every field as it came, repeated ones apart."""
        return list(self._items)

    def set(self, name: str, value: str) -> None:
        """Replace every field ``name`` with one of ``value``."""
        wanted = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != wanted]
        self._items.append((name, value))

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


# -- request and response ---------------------------------------------------------------


class Request:
    """One request as it goes on the wire: an absolute URL, headers, a body."""

    __slots__ = ("content", "headers", "method", "on_headers", "url")

    def __init__(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | Headers | None = None,
        content: bytes | Iterable[bytes] | None = None,
        on_headers: Callable[[], object] | None = None,
    ) -> None:
        self.method = method.upper()
        self.url = url
        self.headers = Headers(headers)
        self.content = content
        #: Called just before the request's head is written to the socket.
        self.on_headers = on_headers

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


class Body(Protocol):
    """A response body being read: pieces of bytes, and a close that ends it."""

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class _Bytes:
    """A body already in memory."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __iter__(self) -> Iterator[bytes]:
        if self._data:
            yield self._data

    def close(self) -> None:
        pass


class Response:
    """An answer: status and headers at once, the body read on demand (or given)."""

    def __init__(
        self,
        status_code: int,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | Headers | None = None,
        content: bytes | None = None,
        stream: Body | None = None,
        request: Request | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = Headers(headers)
        self.request = request if request is not None else Request("GET", "")
        self._content: bytes | None = content
        #: The unread body; replaceable (``ReleasingStream`` wraps it to hand a slot back).
        self.stream: Body = stream if stream is not None else _Bytes(content or b"")
        self.is_closed = content is not None and stream is None
        self.is_stream_consumed = self.is_closed

    @property
    def content(self) -> bytes:
        """The whole body (``read()`` it first when it was streamed)."""
        if self._content is None:
            raise RuntimeError("the response's body was not read: call read() first")
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> object:
        """The body as JSON (``ValueError`` when it is not)."""
        return json.loads(self.content)

    @property
    def is_redirect(self) -> bool:
        return self.status_code in REDIRECT_STATUSES and "Location" in self.headers

    def read(self) -> bytes:
        """Read the whole body (once), and close the answer."""
        if self._content is None:
            self._content = b"".join(self.iter_raw())
        return self._content

    def iter_raw(self) -> Iterator[bytes]:
        """The body's bytes as they arrive (no content decoding: none is asked for)."""
        if self._content is not None and self.is_stream_consumed:
            if self._content:
                yield self._content
            return
        if self.is_stream_consumed:
            raise RuntimeError("the response's body was already read")
        self.is_stream_consumed = True
        try:
            for piece in self.stream:
                if piece:
                    yield piece
        finally:
            self.close()

    iter_bytes = iter_raw

    def close(self) -> None:
        """Give the connection back (or drop it, with bytes left unread); idempotent."""
        if not self.is_closed:
            self.is_closed = True
            self.stream.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class Sender(Protocol):
    """What sends a ``Request`` and answers with its ``Response`` (body unread): the
    pooled ``http.client`` connections, or a test's fault seam wrapping them."""

    def send(self, request: Request) -> Response: ...

    def close(self) -> None: ...
