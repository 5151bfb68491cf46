"""The auth flow as one step: sign, and after a 401 learn the challenge and sign again.

The request goes below with the ``Authorization`` the ``Authenticator`` has
for its scopes (none before the first challenge, a cached token after). A 401
answer carries the registry's challenge: the authenticator learns it and
drops the token the registry refused; when that may help, and the body can be
sent again, the request goes once more with fresh credentials. A second 401
is the answer. Retries of busy registries are the layer above's business.
"""

from __future__ import annotations

from promoter.registry.transport.layers.request import Handler, RegistryRequest
from promoter.structs import replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.transport.auth import Authenticator
    from promoter.registry.transport.wire import Response

__all__ = ["AuthFlow"]


class AuthFlow:
    """Authorize requests for one registry (``Authenticator`` keeps the tokens)."""

    def __init__(self, inner: Handler, auth: Authenticator) -> None:
        self._inner = inner
        self._auth = auth

    def handle(self, request: RegistryRequest) -> Response:
        """The answer to ``request`` signed, signed again after a first 401 when that helps."""
        response = self._inner.handle(self._signed(request))
        if response.status_code != 401:
            return response
        # Learn the challenge even when the body cannot go again: the next request can.
        if not self._auth.unauthorized(response, request.scopes) or not request.replayable:
            return response
        response.close()
        return self._inner.handle(self._signed(request))

    def _signed(self, request: RegistryRequest) -> RegistryRequest:
        authorization = self._auth.headers(request.scopes)
        if not authorization:
            return request
        return replace(request, headers={**(request.headers or {}), **authorization})
