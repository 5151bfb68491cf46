"""The bottom layer: one request sent on the registry's pooled connections, its answer returned.

No retries, no auth, no redirects: what the layers above decide, this sends.
The headers (and a body the caller does not stream) arrive within the
exchange deadline; an error body is read up to ``MAX_ERROR_BODY`` bytes only,
a small answer's up to ``MAX_SMALL_BODY``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator, Mapping

from promoter.errors import RegistryError
from promoter.registry.transport.deadline import within
from promoter.registry.transport.layers.request import RegistryRequest
from promoter.registry.transport.stats import TransportStats
from promoter.registry.transport.wire import Request, Response, Sender

__all__ = ["MAX_ERROR_BODY", "MAX_SMALL_BODY", "SEND_PIECE", "Exchange", "capped"]

#: Bytes of an error answer kept (for its OCI code and message); the rest is dropped.
MAX_ERROR_BODY = 64 * 1024
#: Bytes of a small answer read whole (a token, a tag list, a ping): past this, an error.
MAX_SMALL_BODY = 4 * 1024 * 1024

#: A bytes body larger than this is sent in pieces of this size.
SEND_PIECE = 1024 * 1024


class Exchange:
    """Send one request on the connections ``client()`` returns; count it in ``stats``."""

    def __init__(
        self, client: Callable[[], Sender], stats: TransportStats, deadline: float = 60.0
    ) -> None:
        self._client = client
        self._stats = stats
        self._deadline = deadline

    def handle(self, request: RegistryRequest) -> Response:
        """Send ``request`` once; transport failures raise ``wire.TransportError``."""
        client = self._client()
        headers = dict(request.headers or {})
        body = request.content
        if isinstance(body, bytes) and len(body) > SEND_PIECE:
            # One huge bytes body is sent in pieces (a fresh iterator per attempt
            # stays replayable), with its length announced.
            headers["Content-Length"] = str(len(body))
            body = _pieces(body)
        url = with_params(request.url, request.params) if request.params else request.url
        sent = Request(request.method, url, headers=headers, content=body, on_headers=request.pace)
        self._stats.count(request.method)
        where = urllib.parse.urlsplit(url).netloc
        what = f"{request.action} {request.reference}".strip() or f"{request.method} {url}"
        message = f"{where}: {what}: no complete answer within {self._deadline:g} s"
        if not (body is None or isinstance(body, bytes)):
            response = client.send(sent)  # an upload: the speed floor's, not the deadline's
            return response if request.stream else capped(response, what)
        with within(self._deadline, message):
            response = client.send(sent)
            if request.stream:
                return response
            return capped(response, what)


def with_params(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` in its query: an upload ``Location`` carries state in its
    query, which is kept as it came (a parameter named again is replaced)."""
    base, _, query = url.partition("?")
    kept = [
        p for p in query.split("&") if p and urllib.parse.unquote(p.split("=", 1)[0]) not in params
    ]
    added = urllib.parse.urlencode(dict(params))
    return f"{base}?{'&'.join([*kept, added])}"


def capped(response: Response, what: str = "") -> Response:
    """``response`` read whole: an error's body cut at ``MAX_ERROR_BODY``, a success's
    refused past ``MAX_SMALL_BODY``; the connection is closed when bytes were left."""
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
        where = urllib.parse.urlsplit(response.request.url).netloc
        raise RegistryError(
            f"{where}: {what}: the registry sent an answer of more than "
            f"{MAX_SMALL_BODY // (1024 * 1024)} MiB",
            status=response.status_code,
        )
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")]  # fmt: skip
    return Response(
        response.status_code, headers=headers, content=bytes(body[:limit]), request=response.request
    )


def _pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), SEND_PIECE):
        yield bytes(view[start : start + SEND_PIECE])
