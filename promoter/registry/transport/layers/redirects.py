"""Following a registry's redirects, as its blob reads to storage (ACR, ECR, a CDN) need.

A hop on the registry's own origin goes below with the request's headers
(its credentials included); a hop elsewhere goes to ``storage`` without the
``Authorization`` header. For an insecure registry ``storage`` is an exchange
whose client verifies TLS: ``insecure`` is the registry's alone, never its
storage's.
"""

from __future__ import annotations

import urllib.parse

from promoter.errors import NetworkError
from promoter.registry.transport.layers.request import Handler, RegistryRequest
from promoter.structs import replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.transport.wire import Response

__all__ = ["MAX_REDIRECTS", "FollowRedirects"]

#: Redirects followed from one request (registries use one, to their storage).
MAX_REDIRECTS = 5


class FollowRedirects:
    """Follow redirects for requests that ask to (``follow_redirects``)."""

    def __init__(self, inner: Handler, storage: Handler) -> None:
        self._inner = inner
        self._storage = storage

    def handle(self, request: RegistryRequest) -> Response:
        """The answer at the end of the redirects (at most ``MAX_REDIRECTS`` of them)."""
        response = self._inner.handle(request)
        if not request.follow_redirects:
            return response
        origin = urllib.parse.urlsplit(response.request.url)
        for _hop in range(MAX_REDIRECTS):
            location = response.headers.get("Location")
            if not response.is_redirect or not location:
                return response
            target = urllib.parse.urljoin(response.request.url, location)
            response.read()  # a redirect's body is short: keep the connection for reuse
            response.close()
            hop = replace(request, url=target, params=None)
            there = urllib.parse.urlsplit(target)
            if (there.scheme, there.netloc) == (origin.scheme, origin.netloc):
                response = self._inner.handle(hop)
            else:
                headers = {
                    k: v for k, v in (request.headers or {}).items() if k.lower() != "authorization"
                }
                response = self._storage.handle(replace(hop, headers=headers, pace=None))
        if not response.is_redirect:
            return response
        response.close()
        raise NetworkError(
            f"{origin.netloc}: more than {MAX_REDIRECTS} redirects from {origin.geturl()}"
        )
