"""A fault seam for the registry client: a ``Sender`` wrapping real pooled connections.

Faults a real registry will not produce on demand — a schema 1 manifest, a
corrupted body, a reset after N bytes of an upload, a 503 — are injected by
rules on the way to and from a real registry. Everything else passes through.
``RegistryOptions(transport=FaultTransport([...]))`` puts it under a client.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from promoter.registry.transport.connections import Connections
from promoter.registry.transport.wire import (
    ConnectError,
    ReadError,
    Request,
    Response,
    Sender,
    WriteError,
)

__all__ = ["FaultTransport", "Rule"]

Action = Callable[[Request, Sender], Response]


class _Body:
    """A body streamed like a network answer (read on demand, as the real one)."""

    def __init__(self, pieces: Callable[[], Iterator[bytes]]) -> None:
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces()

    def close(self) -> None:
        pass


def _streamed(status: int, headers: dict[str, str], body: bytes, request: Request) -> Response:
    def pieces() -> Iterator[bytes]:
        if body:
            yield body

    return Response(status, headers=headers, stream=_Body(pieces), request=request)


@dataclass
class Rule:
    """Apply ``action`` to the next ``times`` requests matching method and path."""

    method: str
    path_contains: str
    action: Action
    times: int = 1
    query_contains: str = ""

    def matches(self, request: Request) -> bool:
        url = urllib.parse.urlsplit(request.url)
        return (
            self.times > 0
            and request.method == self.method
            and self.path_contains in url.path
            and self.query_contains in url.query
        )


@dataclass
class FaultTransport:
    """Pass requests to real connections, applying the first matching rule."""

    rules: list[Rule] = field(default_factory=list)
    log: list[tuple[str, str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self.inner = Connections(
            verify=True, connect_timeout=30, stall_timeout=30, max_connections=16,
            user_agent="promoter-tests",
        )  # fmt: skip
        self._lock = threading.Lock()

    def send(self, request: Request) -> Response:
        path = urllib.parse.urlsplit(request.url).path
        with self._lock:
            self.log.append((request.method, path, request.headers.get("Range", "")))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            rule = next((r for r in self.rules if r.matches(request)), None)
            if rule is not None:
                rule.times -= 1
        try:
            if rule is not None:
                return rule.action(request, self.inner)
            return self.inner.send(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.inner.close()

    # -- actions ------------------------------------------------------------

    @staticmethod
    def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Action:
        """Answer without reaching the registry."""

        def act(request: Request, inner: Sender) -> Response:
            return _streamed(status, headers or {}, body, request)

        return act

    @staticmethod
    def replace_body(body: bytes, content_type: str) -> Action:
        """Reach the registry, then answer ``body`` instead of what it sent."""

        def act(request: Request, inner: Sender) -> Response:
            real = inner.send(request)
            real.read()
            headers = {k: v for k, v in real.headers.items() if k.lower() != "content-length"}
            headers["Content-Type"] = content_type
            headers["Content-Length"] = str(len(body))
            return _streamed(real.status_code, headers, body, request)

        return act

    @staticmethod
    def corrupt() -> Action:
        """Flip the last byte of the registry's answer."""

        def act(request: Request, inner: Sender) -> Response:
            real = inner.send(request)
            body = bytearray(real.read())
            if body:
                body[-1] ^= 0x01
            headers = {k: v for k, v in real.headers.items() if k.lower() != "content-length"}
            return _streamed(real.status_code, headers, bytes(body), request)

        return act

    @staticmethod
    def reset() -> Action:
        """The connection is reset before anything is sent."""

        def act(request: Request, inner: Sender) -> Response:
            raise ConnectError("injected: connection reset")

        return act

    @staticmethod
    def break_upload_after(limit: int) -> Action:
        """Send the first ``limit`` bytes of the request body, then reset the connection."""

        def act(request: Request, inner: Sender) -> Response:
            content = request.content
            original = [content] if isinstance(content, bytes) else content or []

            def limited() -> Iterator[bytes]:
                sent = 0
                for chunk in original:
                    if sent + len(chunk) >= limit:
                        yield chunk[: limit - sent]
                        raise WriteError("injected: reset during upload")
                    sent += len(chunk)
                    yield chunk

            request.content = limited()
            return inner.send(request)

        return act

    @staticmethod
    def break_download_after(limit: int) -> Action:
        """Deliver the first ``limit`` bytes of the answer's body, then break."""

        def act(request: Request, inner: Sender) -> Response:
            real = inner.send(request)
            body = real.read()

            def broken() -> Iterator[bytes]:
                yield body[:limit]
                raise ReadError("injected: connection reset mid-body")

            headers = dict(real.headers.items())
            return Response(
                real.status_code, headers=headers, stream=_Body(broken), request=request
            )

        return act


def connections(verify: object = True) -> Connections:
    """Pooled connections as a registry transport makes them (30 s timeouts)."""
    return Connections(
        verify=verify,  # type: ignore[arg-type]
        connect_timeout=30, stall_timeout=30, max_connections=16, user_agent="promoter-tests",
    )  # fmt: skip
