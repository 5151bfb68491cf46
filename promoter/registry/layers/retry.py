"""Retries of one request by the one policy (``promoter.registry.retry``).

A transport failure in the table is tried again, unless it is a TLS failure
(a handshake or a certificate does not get better by asking again); an answer
outside ``expect`` whose status or OCI code is in the table is tried again
after ``Retry-After`` or the backoff. A body that cannot be sent again (an
iterator) goes once. What survives the bounds is the caller's: the last
answer, or the transport exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promoter.registry.errors import parse_error_body
from promoter.registry.failures import ssl_failure
from promoter.registry.layers.request import Handler, RegistryRequest
from promoter.registry.retry import RetryPolicy, parse_retry_after
from promoter.registry.stats import TransportStats

if TYPE_CHECKING:
    import httpx

__all__ = ["RetryFlow"]

#: Bytes of an error answer read for its OCI code.
_ERROR_BODY = 65536


class RetryFlow:
    """Send again what the policy's table calls transient, within its bounds."""

    def __init__(self, inner: Handler, policy: RetryPolicy, stats: TransportStats) -> None:
        self._inner = inner
        self._policy = policy
        self._stats = stats

    def handle(self, request: RegistryRequest) -> httpx.Response:
        """The first answer worth keeping, or the last one the bounds allowed."""
        import httpx

        if not (request.retry and request.replayable):
            return self._inner.handle(request)
        attempts = self._policy.start(self._stats.count_retry)
        while True:
            try:
                response = self._inner.handle(request)
            except httpx.TransportError as error:
                transient = (
                    self._policy.is_retryable_exception(error) and ssl_failure(error) is None
                )
                if transient and attempts.another():
                    continue
                raise
            if response.status_code in request.expect or not self._retryable(response):
                return response
            if not attempts.another(parse_retry_after(response.headers.get("Retry-After"))):
                return response

    def _retryable(self, response: httpx.Response) -> bool:
        status = response.status_code
        if status < 400:
            return False
        code, _ = parse_error_body(response.read()[:_ERROR_BODY])
        return self._policy.is_retryable_status(status, code)
