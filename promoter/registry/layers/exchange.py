"""The bottom layer: one request sent on one ``httpx.Client``, its answer returned.

No retries, no auth, no redirects: what the layers above decide, this sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from promoter.registry.layers.request import RegistryRequest
from promoter.registry.stats import TransportStats

if TYPE_CHECKING:
    import httpx

__all__ = ["SEND_PIECE", "Exchange"]

#: A bytes body larger than this is sent in pieces of this size.
SEND_PIECE = 1024 * 1024


class Exchange:
    """Send one request on the client ``client()`` returns; count it in ``stats``."""

    def __init__(self, client: Callable[[], httpx.Client], stats: TransportStats) -> None:
        self._client = client
        self._stats = stats

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
        sent = client.build_request(request.method, request.url, headers=headers, content=body)
        if request.params:
            # httpx replaces a URL's query with ``params``; an upload Location
            # carries state in its query, so merge instead.
            sent.url = sent.url.copy_merge_params(dict(request.params))
        self._stats.count(request.method)
        return client.send(sent, stream=request.stream)


def _pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), SEND_PIECE):
        yield bytes(view[start : start + SEND_PIECE])
