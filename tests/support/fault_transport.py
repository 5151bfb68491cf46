"""A fault seam for the registry client: an ``httpx`` transport wrapping the real one.

Faults a real registry will not produce on demand — a schema 1 manifest, a
corrupted body, a reset after N bytes of an upload, a 503 — are injected by
rules on the way to and from a real registry. Everything else passes through.
``RegistryOptions(transport=FaultTransport([...]))`` puts it under a client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

__all__ = ["FaultTransport", "Rule"]

Action = Callable[[httpx.Request, httpx.BaseTransport], httpx.Response]


class _Body(httpx.SyncByteStream):
    """A body streamed like a network answer (``httpx`` treats plain bytes as already read)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        if self.body:
            yield self.body


@dataclass
class Rule:
    """Apply ``action`` to the next ``times`` requests matching method and path."""

    method: str
    path_contains: str
    action: Action
    times: int = 1
    query_contains: str = ""

    def matches(self, request: httpx.Request) -> bool:
        return (
            self.times > 0
            and request.method == self.method
            and self.path_contains in request.url.path
            and self.query_contains in str(request.url.query, "ascii")
        )


@dataclass
class FaultTransport(httpx.BaseTransport):
    """Pass requests to a real transport, applying the first matching rule."""

    rules: list[Rule] = field(default_factory=list)
    log: list[tuple[str, str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.log.append((request.method, request.url.path, request.headers.get("Range", "")))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            rule = next((r for r in self.rules if r.matches(request)), None)
            if rule is not None:
                rule.times -= 1
        try:
            if rule is not None:
                return rule.action(request, self.inner)
            return self.inner.handle_request(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.inner.close()

    # -- actions ------------------------------------------------------------

    @staticmethod
    def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Action:
        """Answer without reaching the registry."""

        def act(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
            return httpx.Response(
                status, headers=headers or {}, stream=_Body(body), request=request
            )

        return act

    @staticmethod
    def replace_body(body: bytes, content_type: str) -> Action:
        """Reach the registry, then answer ``body`` instead of what it sent."""

        def act(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
            real = inner.handle_request(request)
            real.read()
            headers = {k: v for k, v in real.headers.items() if k.lower() != "content-length"}
            headers["Content-Type"] = content_type
            headers["Content-Length"] = str(len(body))
            return httpx.Response(
                real.status_code, headers=headers, stream=_Body(body), request=request
            )

        return act

    @staticmethod
    def corrupt() -> Action:
        """Flip the last byte of the registry's answer."""

        def act(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
            real = inner.handle_request(request)
            body = bytearray(real.read())
            if body:
                body[-1] ^= 0x01
            headers = {k: v for k, v in real.headers.items() if k.lower() != "content-length"}
            return httpx.Response(
                real.status_code, headers=headers, stream=_Body(bytes(body)), request=request
            )

        return act

    @staticmethod
    def reset() -> Action:
        """The connection is reset before anything is sent."""

        def act(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
            raise httpx.ConnectError("injected: connection reset", request=request)

        return act

    @staticmethod
    def break_upload_after(limit: int) -> Action:
        """Send the first ``limit`` bytes of the request body, then reset the connection."""

        def act(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
            original = request.stream

            class Limited(httpx.SyncByteStream):
                def __iter__(self) -> Iterator[bytes]:
                    sent = 0
                    for chunk in original:  # type: ignore[union-attr]
                        if sent + len(chunk) >= limit:
                            yield chunk[: limit - sent]
                            raise httpx.WriteError("injected: reset during upload")
                        sent += len(chunk)
                        yield chunk

            request.stream = Limited()
            return inner.handle_request(request)

        return act

    @staticmethod
    def break_download_after(limit: int) -> Action:
        """Deliver the first ``limit`` bytes of the answer's body, then break."""

        def act(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
            real = inner.handle_request(request)
            body = real.read()

            class Broken(httpx.SyncByteStream):
                def __iter__(self) -> Iterator[bytes]:
                    yield body[:limit]
                    raise httpx.ReadError("injected: connection reset mid-body")

            headers = dict(real.headers.items())
            return httpx.Response(
                real.status_code, headers=headers, stream=Broken(), request=request
            )

        return act
