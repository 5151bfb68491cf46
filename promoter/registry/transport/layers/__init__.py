"""The registry transport as a stack of small layers, each ``handle(request) -> Response``.

From the top (what ``RegistryTransport.send`` calls) to the bottom::

    RequestBudget     read and write slots per registry (the seam for a rate limit)
    RetryFlow         the one retry policy: table, full-jitter backoff, Retry-After, bounds
    AuthFlow          sign; after a 401, learn the challenge and sign again (once)
    FollowRedirects   follow to storage, without credentials, verified even when insecure
    Exchange          one request on the pooled connections (``connections``)

The scheme discovery's ping runs ``RetryFlow`` over ``Exchange`` alone; the
token requests ``AuthFlow`` makes run ``RetryFlow`` over ``RateGate`` over
``Exchange`` (no ``RequestBudget`` slot: the request they are for holds one).
"""

from __future__ import annotations

from promoter.registry.transport.layers.auth import AuthFlow
from promoter.registry.transport.layers.budget import RequestBudget
from promoter.registry.transport.layers.exchange import Exchange
from promoter.registry.transport.layers.redirects import MAX_REDIRECTS, FollowRedirects
from promoter.registry.transport.layers.request import Handler, RegistryRequest
from promoter.registry.transport.layers.retry import RetryFlow

__all__ = [
    "MAX_REDIRECTS",
    "AuthFlow",
    "Exchange",
    "FollowRedirects",
    "Handler",
    "RegistryRequest",
    "RequestBudget",
    "RetryFlow",
]
