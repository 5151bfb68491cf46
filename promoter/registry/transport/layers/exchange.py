"""The bottom layer: one request sent on one ``httpx.Client``, its answer returned.

No retries, no auth, no redirects: what the layers above decide, this sends.
The headers (and a body the caller does not stream) arrive within the
exchange deadline; an error body is read up to ``MAX_ERROR_BODY`` bytes only,
a small answer's up to ``MAX_SMALL_BODY``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from promoter.errors import RegistryError
from promoter.registry.transport.deadline import within
from promoter.registry.transport.layers.request import RegistryRequest
from promoter.registry.transport.stats import TransportStats

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_ERROR_BODY", "MAX_SMALL_BODY", "SEND_PIECE", "Exchange", "capped"]

#: Bytes of an error answer kept (for its OCI code and message); the rest is dropped.
MAX_ERROR_BODY = 64 * 1024
#: Bytes of a small answer read whole (a token, a tag list, a ping): past this, an error.
MAX_SMALL_BODY = 4 * 1024 * 1024

#: A bytes body larger than this is sent in pieces of this size.
SEND_PIECE = 1024 * 1024


class Exchange:
    """Send one request on the client ``client()`` returns; count it in ``stats``."""

    def __init__(
        self, client: Callable[[], httpx.Client], stats: TransportStats, deadline: float = 60.0
    ) -> None:
        self._client = client
        self._stats = stats
        self._deadline = deadline

    def handle(self, request: RegistryRequest) -> httpx.Response:
        """Send ``request`` once; transport failures raise ``httpx.TransportError``."""
        client = self._client()
        headers = dict(request.headers or {})
        body = request.content
        if isinstance(body, bytes) and len(body) > SEND_PIECE:
            # httpcore sends one huge bytes body several times slower than the
            # same bytes in pieces; a fresh iterator per attempt stays replayable.
            headers["Content-Length"] = str(len(body))
            body = _pieces(body)
        sent = client.build_request(
            request.method,
            request.url,
            headers=headers,
            content=body,
            extensions={"trace": _on_headers(request.pace)} if request.pace else None,
        )
        if request.params:
            # httpx replaces a URL's query with ``params``; an upload Location
            # carries state in its query, so merge instead.
            sent.url = sent.url.copy_merge_params(dict(request.params))
        self._stats.count(request.method)
        where = sent.url.netloc.decode("ascii", "replace")
        what = f"{request.action} {request.reference}".strip() or f"{request.method} {sent.url}"
        message = f"{where}: {what}: no complete answer within {self._deadline:g} s"
        if not (body is None or isinstance(body, bytes)):
            return client.send(sent, stream=request.stream)  # an upload: the speed floor's
        with within(self._deadline, message):
            response = client.send(sent, stream=True)
            if request.stream:
                return response
            return capped(response, what)


def capped(response: httpx.Response, what: str = "") -> httpx.Response:
    """``response`` read whole: an error's body cut at ``MAX_ERROR_BODY``, a success's
    refused past ``MAX_SMALL_BODY``; the connection is closed when bytes were left."""
    import httpx

    limit = MAX_ERROR_BODY if response.status_code >= 400 else MAX_SMALL_BODY
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) <= limit:
        response.read()  # announced and small: read as is (the deadline still holds)
        response.close()
        return response
    body = bytearray()
    rest = False
    try:
        for chunk in response.iter_raw():
            body += chunk
            if len(body) > limit:
                rest = True
                break
    finally:
        response.close()
    if rest and response.status_code < 400:
        where = response.request.url.netloc.decode("ascii", "replace")
        raise RegistryError(
            f"{where}: {what}: the registry sent an answer of more than "
            f"{MAX_SMALL_BODY // (1024 * 1024)} MiB",
            status=response.status_code,
        )
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")]  # fmt: skip
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=bytes(body[:limit]),
        request=response.request,
        extensions=response.extensions,
    )


def _on_headers(pace: Callable[[], object]) -> Callable[[str, object], None]:
    """httpcore's trace hook: ``pace`` just before the request's headers are written."""

    def trace(event: str, info: object) -> None:
        if event.endswith(".send_request_headers.started"):
            pace()

    return trace


def _pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), SEND_PIECE):
        yield bytes(view[start : start + SEND_PIECE])
