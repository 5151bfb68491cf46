"""Retries of one request by the one policy (``promoter.registry.access.retry``).

A transport failure in the table is tried again, unless it is a TLS failure
(a handshake or a certificate does not get better by asking again); an answer
outside ``expect`` whose status or OCI code is in the table is tried again
after ``Retry-After`` or the backoff; its body is read up to
``MAX_ERROR_BODY`` only. A ``Retry-After`` longer than the deadline leaves
ends the retries at once: the registry's answer is the error. A wait longer
than ``WAIT_NOTICE`` is told to ``on_wait`` as it starts. A body that cannot be sent again (an
iterator) goes once. What survives the bounds is the caller's: the last
answer, or the transport exception.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from promoter.errors import RegistryError
from promoter.registry.access.retry import RetryPolicy, parse_retry_after
from promoter.registry.transport.deadline import time_left
from promoter.registry.transport.errors import error_from_response, parse_error_body
from promoter.registry.transport.failures import ssl_failure
from promoter.registry.transport.layers.exchange import MAX_ERROR_BODY, capped
from promoter.registry.transport.layers.request import Handler, RegistryRequest
from promoter.registry.transport.stats import TransportStats
from promoter.registry.transport.wire import TransportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.transport.wire import Response

__all__ = ["RetryFlow"]


class RetryFlow:
    """Send again what the policy's table calls transient, within its bounds."""

    def __init__(
        self,
        inner: Handler,
        policy: RetryPolicy,
        stats: TransportStats,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._stats = stats
        self._on_wait = on_wait

    def handle(self, request: RegistryRequest) -> Response:
        """The first answer worth keeping, or the last one the bounds allowed."""

        if not (request.retry and request.replayable):
            return self._inner.handle(request)
        attempts = self._policy.start(self._stats.count_retry)
        while True:
            try:
                response = self._inner.handle(request)
            except TransportError as error:
                transient = (
                    self._policy.is_retryable_exception(error) and ssl_failure(error) is None
                )
                if transient and attempts.another():
                    continue
                raise
            if response.status_code in request.expect or response.status_code < 400:
                return response
            if request.stream:
                response = capped(response, f"{request.action} {request.reference}")
            if not self._retryable(response):
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            left = time_left()
            if retry_after is not None and left is not None and retry_after > left:
                raise _wait_refused(response, request, retry_after, left)
            if not attempts.another(retry_after, limit=left, on_wait=self._waiting(request)):
                return response

    def _waiting(self, request: RegistryRequest) -> Callable[[float], None] | None:
        listener = self._on_wait
        if listener is None:
            return None
        host = urllib.parse.urlsplit(request.url).netloc

        def heard(seconds: float) -> None:
            listener(f"{host}: busy; waiting {seconds:.0f} s before asking again "
                     f"({request.action} {request.reference})")  # fmt: skip

        return heard

    def _retryable(self, response: Response) -> bool:
        code, _ = parse_error_body(response.content[:MAX_ERROR_BODY])
        return self._policy.is_retryable_status(response.status_code, code)


def _wait_refused(
    response: Response, request: RegistryRequest, retry_after: float, left: float
) -> RegistryError:
    """The registry's own error, saying why it was not waited for: its ``Retry-After``
    is past the time the deadline leaves."""
    error = error_from_response(response, request.reference, action=request.action)
    host = urllib.parse.urlsplit(request.url).netloc
    error.detail = (
        f"{host} asked to wait {retry_after:.0f} s before asking again; "
        f"the deadline leaves {left:.0f} s"
    )
    error.hint = "wait and run again, or give more time with --timeout SECONDS (PROMOTER_TIMEOUT)"
    return error
