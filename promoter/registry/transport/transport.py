"""One registry's HTTP transport: the layers of ``promoter.registry.transport.layers``, assembled.

Every client of a host shares one ``RegistryTransport`` and so one pool of
HTTP/1.1 keep-alive connections (``connections.Connections``, on the standard
library's ``http.client``), one token cache and one request budget. It is thread-safe: blobs move in parallel threads.

``send`` and ``stream`` take a ``RegistryRequest`` down the stack (budget,
retries, auth, pace, redirects, exchange) and translate what comes back at this
boundary: a status outside ``expect`` raises ``RegistryError`` (``AuthError``),
a transport failure that survived the retries ``NetworkError``, and a body
that breaks while the caller reads a stream ``BrokenBody``.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from promoter.registry.access.credentials import Credential
from promoter.registry.access.options import RegistryOptions, is_loopback, normalize_host
from promoter.registry.access.trust import TrustKey, trust_key
from promoter.registry.transport.auth import Authenticator
from promoter.registry.transport.connections import Connections
from promoter.registry.transport.discovery import TlsProbe, discover_base
from promoter.registry.transport.errors import error_from_response
from promoter.registry.transport.failures import BrokenBody, network_error
from promoter.registry.transport.layers import (
    AuthFlow,
    Exchange,
    FollowRedirects,
    RegistryRequest,
    RequestBudget,
    RetryFlow,
)
from promoter.registry.transport.layers.budget import RateGate
from promoter.registry.transport.layers.exchange import capped
from promoter.registry.transport.ratelimit import shared_limiter
from promoter.registry.transport.stats import TransportStats
from promoter.registry.transport.wire import Response, Sender, TransportError
from promoter.structs import replace

__all__ = ["RegistryRequest", "RegistryTransport", "TransportStats"]


class RegistryTransport:
    """HTTP to one registry host: the stack of layers, and its connections."""

    def __init__(
        self,
        host: str,
        options: RegistryOptions,
        credential_lookup: Callable[[], Credential | None],
    ) -> None:
        self.host = normalize_host(host)
        self.options = options
        self.stats = TransportStats()
        self.insecure = options.is_insecure(self.host)
        self._lock = threading.Lock()
        self._discovery = threading.Lock()
        self._client: Sender | None = None
        #: For an insecure registry: verifying connections for the storage it redirects to.
        self._storage: Sender | None = None
        #: For a loopback registry not declared insecure: the probe's (``discovery``).
        self._probing: Sender | None = None
        self._base: str | None = None
        loopback = is_loopback(self.host)
        if not self.insecure and not loopback and options.transport is None:
            options.trust_roots.load_early(self._trust_key())
        deadline = options.exchange_deadline
        exchange = Exchange(self.http, self.stats, deadline)
        storage = Exchange(self._storage_client, self.stats, deadline) if self.insecure else None
        retry = options.retry
        rate, self.max_concurrency = options.limits_for(self.host)
        #: The pace of this registry, shared by every client and worker of the process.
        self.limiter = shared_limiter(self.host, rate)
        #: The token endpoint's requests and retries (it is not the registry: counted apart).
        self.token_stats = TransportStats()
        # A token request is retried, paced and bounded as any request, but takes no
        # budget slot: the request it is for holds one already (see ``auth``).
        token = Exchange(self.http, self.token_stats, deadline)
        self.auth = Authenticator(
            self.host,
            credential_lookup,
            self.http,
            RetryFlow(RateGate(token, self.limiter), retry, self.token_stats, options.on_wait),
        )
        paced = RateGate(FollowRedirects(exchange, storage or exchange), self.limiter)
        self.budget = RequestBudget(
            RetryFlow(AuthFlow(paced, self.auth), retry, self.stats, options.on_wait),
            self.max_concurrency,
            self.limiter,
        )
        self._ping = RetryFlow(exchange, retry, self.stats)
        probing = exchange
        if loopback and not self.insecure:
            probing = Exchange(self._probing_client, self.stats, deadline)
        self._probe = RetryFlow(TlsProbe(probing, self.insecure), retry, self.stats)

    # -- connection -------------------------------------------------------

    def http(self) -> Sender:
        """The pooled connections of this registry (made on first use)."""
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def tls_verify(self) -> Callable[[], ssl.SSLContext] | bool:
        """What this registry's own TLS is checked with, made at its first TLS
        connection (False when it is insecure)."""
        return False if self.insecure else self.verifying_context

    def verifying_context(self) -> ssl.SSLContext:
        """The verifying TLS context of this registry's trust roots, even when the
        registry itself is insecure: for the storage its blob reads redirect to."""
        return self.options.trust_roots.context(self._trust_key())

    def _trust_key(self) -> TrustKey:
        """This registry's trust roots: its own CA file, the run's, the environment's."""
        ca_files = (self.options.config_for(self.host).ca_file, self.options.ca_file)
        return trust_key(
            ca_files,
            loopback=is_loopback(self.host),
            cert_file=self.options.cert_file,
            cert_dir=self.options.cert_dir,
        )

    def _make_client(self, verify: Callable[[], ssl.SSLContext] | bool | None = None) -> Sender:
        seam = self.options.transport  # a test's fault seam (access/ cannot name Sender)
        if seam is not None:
            return seam  # type: ignore[return-value]
        return self._connections(self.tls_verify() if verify is None else verify)

    def _probing_client(self) -> Sender:
        """Connections whose TLS checks nothing, for the probe of a loopback registry."""
        with self._lock:
            if self._probing is None:
                self._probing = self._make_client(verify=False)
            return self._probing

    def _storage_client(self) -> Sender:
        with self._lock:
            if self._storage is None:
                self._storage = self._connections(self.verifying_context())
            return self._storage

    def _connections(
        self, verify: ssl.SSLContext | Callable[[], ssl.SSLContext] | bool
    ) -> Connections:
        """Connect within ``connect_timeout``; a read or write stalled ``stall_timeout``
        fails. HTTP(S)_PROXY / NO_PROXY as every tool honours them; a registry on this
        machine is never reached through a proxy."""
        return Connections(
            verify=verify,
            connect_timeout=self.options.connect_timeout,
            stall_timeout=self.options.stall_timeout,
            max_connections=max(1, self.max_concurrency) * 2 + 2,
            user_agent=self.options.user_agent,
            use_proxies=not is_loopback(self.host),
        )

    def base_url(self) -> str:
        """``https://host`` or ``http://host``, decided by the first ping (once)."""
        if self._base is not None:
            return self._base
        with self._discovery:  # one ping per registry, even when threads start together
            if self._base is None:
                with self.slot("GET"):
                    self._base = discover_base(
                        self.host, self.insecure, self._ping, self._probe, self.auth
                    )
            return self._base

    def close(self) -> None:
        """Close the pooled connections."""
        with self._lock:
            for client in (self._client, self._storage, self._probing):
                if client is not None:
                    client.close()
            self._client = self._storage = self._probing = None

    # -- requests ---------------------------------------------------------

    def url(self, path: str) -> str:
        """An absolute URL for ``path`` (an upload ``Location`` may already be absolute)."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url() + (path if path.startswith("/") else "/" + path)

    def slot(self, method: str) -> AbstractContextManager[None]:
        """Hold one of this registry's read or write slots (``RequestBudget.slot``)."""
        return self.budget.slot(method)

    def send(self, request: RegistryRequest) -> Response:
        """Send ``request`` down the stack; statuses outside ``expect`` raise ``RegistryError``."""
        if not request.url.startswith(("http://", "https://")):
            request = replace(request, url=self.url(request.url))  # the ping comes first
        try:
            response = self.budget.handle(request)
        except TransportError as error:
            raise network_error(self.host, error, f"{request.action} {request.reference}") from None
        if response.status_code in request.expect:
            return response
        if request.stream and not response.is_stream_consumed:
            response = capped(response, f"{request.action} {request.reference}")
        raise error_from_response(
            response, request.reference, action=request.action, credential_source=self.auth.source
        )

    @contextmanager
    def stream(self, request: RegistryRequest) -> Iterator[Response]:
        """A streamed answer whose body the caller reads; holds a slot until closed.

        A transport failure while the body is read raises ``BrokenBody`` (its
        ``error`` is the transport exception, for the retry table).
        """
        response = self.send(replace(request, stream=True))
        try:
            yield response
        except TransportError as error:
            raise BrokenBody(self.host, error, f"{request.action} {request.reference}") from None
        finally:
            response.close()
