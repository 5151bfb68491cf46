"""Which scheme a registry speaks: ``https://host`` or ``http://host``, by one ping.

HTTPS with verification by default. A host declared insecure is tried over
HTTPS without verification, then plain HTTP; a loopback host (127.0.0.0/8,
::1, localhost) falls back to plain HTTP when it does not speak TLS, as Docker
does. The ping's 401 teaches the authenticator the registry's challenge.

A loopback host not declared insecure is first offered a handshake that checks
nothing (the transport's probe connections): one that speaks plain HTTP, as a
CI job's registry on ``localhost:5000`` does, then costs no trust roots (loading
certifi's bundle is 30 ms). One that speaks TLS is pinged again, verified.
"""

from __future__ import annotations

import ssl

from promoter.errors import RegistryError
from promoter.registry.access.options import is_loopback
from promoter.registry.transport.failures import network_error, ssl_failure
from promoter.registry.transport.layers.request import Handler, RegistryRequest
from promoter.registry.transport.wire import ConnectTimeout, TransportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.transport.auth import Authenticator
    from promoter.registry.transport.wire import Response

__all__ = ["NotTls", "TlsProbe", "discover_base"]


class NotTls(Exception):
    """The host answered a TLS handshake with something else (internal to the probe)."""


class TlsProbe:
    """A layer for the probe of a loopback or insecure host: a TLS failure, or a
    handshake that never completes, raises ``NotTls`` (never retried); a refused
    or reset connection (a registry restarting) goes up to be retried."""

    def __init__(self, inner: Handler, insecure: bool) -> None:
        self._inner = inner
        self._insecure = insecure

    def handle(self, request: RegistryRequest) -> Response:
        """The probe's answer, or ``NotTls``."""
        try:
            return self._inner.handle(request)
        except TransportError as error:
            ssl_error = ssl_failure(error)
            if isinstance(ssl_error, ssl.SSLCertVerificationError) and not self._insecure:
                raise  # it speaks TLS, with a certificate we do not trust
            if ssl_error is not None or isinstance(error, ConnectTimeout):
                raise NotTls(str(error)) from error
            raise


def discover_base(
    host: str, insecure: bool, ping: Handler, probe: Handler, auth: Authenticator
) -> str:
    """The base URL of ``host``: ``ping`` sends the ping, ``probe`` the TLS probe
    (a ``TlsProbe`` below the retries)."""
    https = f"https://{host}"
    if not (insecure or is_loopback(host)):
        _check_ping(host, _ping(host, https, ping), auth)
        return https
    try:
        answer = _ping(host, https, probe)
    except NotTls:
        http = f"http://{host}"
        _check_ping(host, _ping(host, http, ping), auth)
        return http
    if not insecure:  # a loopback host that speaks TLS: the probe checked nothing
        answer = _ping(host, https, ping)
    _check_ping(host, answer, auth)
    return https


def _ping(host: str, base: str, handler: Handler) -> Response:
    request = RegistryRequest(
        "GET", f"{base}/v2/", reference=host, action="ping", expect=(200, 401)
    )
    try:
        return handler.handle(request)
    except TransportError as error:
        raise network_error(host, error, "ping") from None


def _check_ping(host: str, response: Response, auth: Authenticator) -> None:
    if response.status_code == 401:
        auth.learn(response)
    elif response.status_code != 200:
        raise RegistryError(
            f"{host} does not answer like a registry (GET /v2/: HTTP {response.status_code})",
            status=response.status_code,
            reference=host,
        )
