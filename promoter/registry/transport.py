"""One registry's HTTP transport: TLS or plain HTTP, auth, retries, concurrency bound.

Every client of a host shares one ``RegistryTransport`` and so one pooled
``httpx.Client`` (HTTP/1.1 keep-alive) and one token cache. It is thread-safe:
blobs move in parallel threads.

Scheme: HTTPS with verification by default. A host declared insecure is tried
over HTTPS without verification, then plain HTTP; a loopback host
(127.0.0.0/8, ::1, localhost) falls back to plain HTTP when it does not speak
TLS, as Docker does.

Concurrency: at most ``max_concurrency`` reads and as many writes at once per
registry. Reads and writes have separate bounds, and a copy always opens its
read before its write, so a same-registry copy cannot deadlock.
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from promoter.errors import NetworkError, RegistryError
from promoter.registry.auth import Authenticator
from promoter.registry.credentials import Credential
from promoter.registry.errors import error_from_response, parse_error_body
from promoter.registry.failures import network_error, ssl_failure
from promoter.registry.options import RegistryOptions, is_loopback, normalize_host
from promoter.registry.retry import parse_retry_after
from promoter.registry.stats import TransportStats

if TYPE_CHECKING:
    import httpx

__all__ = ["RegistryTransport", "TransportStats"]

_READ_METHODS = frozenset({"GET", "HEAD"})
#: Redirects followed from a registry's blob read to its storage (registries use one).
MAX_REDIRECTS = 5
_SEND_PIECE = 1024 * 1024


#: What a verifying TLS context is made of: the CA files, SSL_CERT_FILE, SSL_CERT_DIR.
TrustKey = tuple[tuple[str, ...], str | None, str | None]


@functools.lru_cache(maxsize=8)
def _trust_context(
    ca_files: tuple[str, ...], cert_file: str | None, cert_dir: str | None
) -> ssl.SSLContext:
    """The verifying TLS context, built once per process and key, shared by clients.

    The roots are ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's (as
    httpx chooses them), plus each of ``ca_files`` (the registry's own CA file
    from pipeline.yml, ``--ca-file``). Loading them costs tens of milliseconds,
    which each registry client of a run used to pay again.
    """
    if cert_file:
        context = ssl.create_default_context(cafile=cert_file)
    elif cert_dir:
        context = ssl.create_default_context(capath=cert_dir)
    else:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    for ca_file in ca_files:
        context.load_verify_locations(cafile=ca_file)
    return context


_early: dict[TrustKey, threading.Thread] = {}
_early_lock = threading.Lock()


def _load_trust_roots_early(key: TrustKey) -> None:
    """Start loading the trust roots on another thread, once per process and key.

    OpenSSL parses the bundle without holding the GIL, so the tens of
    milliseconds it takes overlap with importing httpx and the first ping.
    A failure is left for ``_verify`` to raise in the caller's thread. Not a
    daemon: the interpreter must not be torn down while OpenSSL is still
    parsing (a process that ends first waits for it, tens of milliseconds).
    """
    with _early_lock:
        if key in _early:
            return
        thread = threading.Thread(target=_load_quietly, args=key, name="promoter-trust-roots")
        _early[key] = thread
    thread.start()


def _load_quietly(ca_files: tuple[str, ...], cert_file: str | None, cert_dir: str | None) -> None:
    # A failure is raised again, with a clear message, where the context is needed.
    with contextlib.suppress(OSError, ssl.SSLError):
        _trust_context(ca_files, cert_file, cert_dir)


def _await_trust_roots(key: TrustKey) -> None:
    with _early_lock:
        thread = _early.get(key)
    if thread is not None and thread is not threading.current_thread():
        thread.join()


class RegistryTransport:
    """HTTP to one registry host with auth, retries and bounds."""

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
        self._client: httpx.Client | None = None
        #: For an insecure registry: a verifying client for the storage it redirects to.
        self._storage: httpx.Client | None = None
        self._base: str | None = None
        self._reads = threading.BoundedSemaphore(max(1, options.max_concurrency))
        self._writes = threading.BoundedSemaphore(max(1, options.max_concurrency))
        self.auth = Authenticator(self.host, credential_lookup, self.http)
        if not self.insecure and options.transport is None:
            _load_trust_roots_early(self._trust_key())

    # -- connection -------------------------------------------------------

    def http(self) -> httpx.Client:
        """The pooled ``httpx.Client`` of this registry (created on first use)."""
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _trust_key(self) -> TrustKey:
        # SSL_CERT_FILE / SSL_CERT_DIR as httpx itself honours them (not for loopback).
        environ = {} if is_loopback(self.host) else os.environ
        own = self.options.config_for(self.host).ca_file
        ca_files = tuple(dict.fromkeys(f for f in (own, self.options.ca_file) if f))
        return (
            ca_files,
            environ.get("SSL_CERT_FILE") or None,
            environ.get("SSL_CERT_DIR") or None,
        )

    def _verify(self) -> ssl.SSLContext | bool:
        if self.insecure:
            return False
        return self.verifying_context()

    def verifying_context(self) -> ssl.SSLContext:
        """The verifying TLS context of this registry's trust roots, even when the
        registry itself is insecure: for the storage its blob reads redirect to."""
        key = self._trust_key()
        _await_trust_roots(key)
        try:
            return _trust_context(*key)
        except (OSError, ssl.SSLError) as error:
            from promoter.errors import InputError

            bundles = ", ".join(key[0]) or "(the default roots)"
            raise InputError(f"cannot load CA bundle {bundles}: {error}") from None

    def _make_client(self) -> httpx.Client:
        import httpx

        from promoter.registry.httpx_setup import tune_reads

        tune_reads()
        slots = max(1, self.options.max_concurrency) * 2 + 2
        kwargs: dict[str, Any] = {
            "timeout": self._timeout(),
            "limits": httpx.Limits(max_connections=slots, max_keepalive_connections=slots),
            "headers": {"User-Agent": self.options.user_agent},
            "follow_redirects": False,
            # HTTP(S)_PROXY / NO_PROXY and SSL_CERT_FILE as every tool honours them;
            # a registry on this machine is never reached through a proxy.
            "trust_env": not is_loopback(self.host),
        }
        if self.options.transport is not None:
            kwargs["transport"] = self.options.transport
        else:
            kwargs["verify"] = self._verify()
        return httpx.Client(**kwargs)

    def _timeout(self) -> httpx.Timeout:
        """Connect within ``connect_timeout``; a read or write stalled ``stall_timeout`` fails."""
        import httpx

        return httpx.Timeout(
            connect=self.options.connect_timeout,
            read=self.options.stall_timeout,
            write=self.options.stall_timeout,
            pool=None,
        )

    def base_url(self) -> str:
        """``https://host`` or ``http://host``, decided by the first ping (once)."""
        if self._base is not None:
            return self._base
        with self._discovery:  # one ping per registry, even when threads start together
            if self._base is None:
                with self.slot("GET"):
                    self._base = self._discover()
            return self._base

    def _discover(self) -> str:
        https = f"https://{self.host}"
        if not (self.insecure or is_loopback(self.host)):
            try:
                response = self._exchange_with_retries(
                    "GET", f"{https}/v2/", reference=self.host, action="ping", scopes=()
                )
            except _TransportFailure as failure:
                raise self._network_error(failure.error, "ping") from None
            self._check_ping(response)
            return https
        if self._speaks_tls(https):
            return https
        http = f"http://{self.host}"
        try:
            response = self._exchange_with_retries(
                "GET", f"{http}/v2/", reference=self.host, action="ping", scopes=()
            )
        except _TransportFailure as failure:
            raise self._network_error(failure.error, "ping") from None
        self._check_ping(response)
        return http

    def _speaks_tls(self, https: str) -> bool:
        """Probe a loopback or insecure host over TLS; False when it does not speak it.

        A TLS failure, or a handshake that never completes, means plain HTTP; a
        refused or reset connection (a registry restarting) is retried.
        """
        import httpx

        policy = self.options.retry
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._exchange_with_retries(
                    "GET",
                    f"{https}/v2/",
                    reference=self.host,
                    action="ping",
                    scopes=(),
                    retry=False,
                )
            except _TransportFailure as failure:
                error = failure.error
                ssl_error = ssl_failure(error)
                if isinstance(ssl_error, ssl.SSLCertVerificationError) and not self.insecure:
                    raise self._network_error(error, "ping") from None
                if ssl_error is not None or isinstance(error, httpx.ConnectTimeout):
                    return False
                wait = policy.delay(attempt)
                if not (
                    policy.is_retryable_exception(error) and policy.allows(attempt, started, wait)
                ):
                    raise self._network_error(error, "ping") from None
                self.stats.add(retries=1)
                time.sleep(wait)
                continue
            self._check_ping(response)
            return True

    def _check_ping(self, response: httpx.Response) -> None:
        if response.status_code == 401:
            self.auth.learn(response)
        elif response.status_code != 200:
            raise RegistryError(
                f"{self.host} does not answer like a registry (GET /v2/: HTTP "
                f"{response.status_code})",
                status=response.status_code,
                reference=self.host,
            )

    def _network_error(self, error: BaseException, action: str) -> NetworkError:
        return network_error(self.host, error, action)

    def close(self) -> None:
        """Close the pooled connections."""
        with self._lock:
            for client in (self._client, self._storage):
                if client is not None:
                    client.close()
            self._client = self._storage = None

    # -- requests ---------------------------------------------------------

    def url(self, path: str) -> str:
        """An absolute URL for ``path`` (an upload ``Location`` may already be absolute)."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url() + (path if path.startswith("/") else "/" + path)

    @contextmanager
    def slot(self, method: str) -> Iterator[None]:
        """Hold one of this registry's read or write slots."""
        semaphore = self._reads if method.upper() in _READ_METHODS else self._writes
        with semaphore:
            yield

    def request(
        self,
        method: str,
        path: str,
        *,
        scopes: Sequence[str],
        reference: str,
        action: str,
        expect: Sequence[int] = (200,),
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        retry: bool = True,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send and read one request; statuses outside ``expect`` raise ``RegistryError``.

        Retries follow the policy table when ``content`` is replayable (bytes or
        None); an iterator body is sent once.
        """
        url = self.url(path)
        with self.slot(method):
            response = self._checked(
                method,
                url,
                scopes=scopes,
                reference=reference,
                action=action,
                expect=expect,
                params=params,
                headers=headers,
                content=content,
                retry=retry and (content is None or isinstance(content, bytes)),
                follow_redirects=follow_redirects,
                stream=False,
            )
        return response

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        scopes: Sequence[str],
        reference: str,
        action: str,
        expect: Sequence[int] = (200,),
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> Iterator[httpx.Response]:
        """A streamed answer whose body the caller reads; holds a slot until closed."""
        url = self.url(path)
        with self.slot(method):
            response = self._checked(
                method,
                url,
                scopes=scopes,
                reference=reference,
                action=action,
                expect=expect,
                params=None,
                headers=headers,
                content=None,
                retry=True,
                follow_redirects=follow_redirects,
                stream=True,
            )
            try:
                yield response
            finally:
                response.close()

    def _checked(
        self,
        method: str,
        url: str,
        *,
        scopes: Sequence[str],
        reference: str,
        action: str,
        expect: Sequence[int],
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        content: bytes | Iterable[bytes] | None,
        retry: bool,
        follow_redirects: bool,
        stream: bool,
    ) -> httpx.Response:
        try:
            response = self._exchange_with_retries(
                method,
                url,
                reference=reference,
                action=action,
                scopes=scopes,
                params=params,
                headers=headers,
                content=content,
                retry=retry,
                follow_redirects=follow_redirects,
                stream=stream,
                expect=expect,
            )
        except _TransportFailure as failure:
            raise self._network_error(failure.error, f"{action} {reference}") from None
        if response.status_code in expect:
            return response
        if stream:
            response.read()
            response.close()
        raise error_from_response(
            response, reference, action=action, credential_source=self.auth.source
        )

    def _exchange_with_retries(
        self,
        method: str,
        url: str,
        *,
        reference: str,
        action: str,
        scopes: Sequence[str],
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        retry: bool = True,
        follow_redirects: bool = False,
        stream: bool = False,
        expect: Sequence[int] = (200, 401),
    ) -> httpx.Response:
        """Send with auth and retries; return the final answer (any status)."""
        import httpx

        policy = self.options.retry
        started = time.monotonic()
        attempt = 0
        reauthenticated = False
        client = self.http()
        while True:
            attempt += 1
            merged = dict(headers or {})
            merged.update(self.auth.headers(scopes))
            target = httpx.URL(url)
            if params:
                # httpx replaces a URL's query with ``params``; an upload Location
                # carries state in its query, so merge instead.
                target = target.copy_merge_params(dict(params))
            body: bytes | Iterable[bytes] | None = content
            if isinstance(content, bytes) and len(content) > _SEND_PIECE:
                # httpcore sends one huge bytes body several times slower than the
                # same bytes in pieces; a fresh iterator per attempt stays replayable.
                merged["Content-Length"] = str(len(content))
                body = _pieces(content)
            request = client.build_request(method, target, headers=merged, content=body)
            self.stats.count(method)
            # An insecure registry's client does not verify TLS; the storage its
            # blob reads redirect to must still be verified (_follow_to_storage).
            own_redirects = follow_redirects and self.insecure
            try:
                response = client.send(
                    request, stream=stream, follow_redirects=follow_redirects and not own_redirects
                )
                if own_redirects and response.is_redirect:
                    response = self._follow_to_storage(response, method, stream)
            except httpx.TransportError as error:
                wait = policy.delay(attempt)
                # A TLS handshake failure is not transient: never retried.
                transient = policy.is_retryable_exception(error) and ssl_failure(error) is None
                if retry and transient and policy.allows(attempt, started, wait):
                    self.stats.add(retries=1)
                    time.sleep(wait)
                    continue
                raise _TransportFailure(error) from None
            status = response.status_code
            if status == 401 and not reauthenticated and action != "ping":
                reauthenticated = True
                if self.auth.unauthorized(response, scopes) and (
                    content is None or isinstance(content, bytes)
                ):
                    response.close()
                    attempt -= 1
                    continue
            if status in expect or not retry:
                return response
            code: str | None = None
            if status >= 400:
                body = response.read()[:65536] if stream else response.content[:65536]
                code, _ = parse_error_body(body)
            if policy.is_retryable_status(status, code):
                wait = policy.delay(attempt, parse_retry_after(response.headers.get("Retry-After")))
                if policy.allows(attempt, started, wait):
                    response.close()
                    self.stats.add(retries=1)
                    time.sleep(wait)
                    continue
            return response

    def _follow_to_storage(
        self, response: httpx.Response, method: str, stream: bool
    ) -> httpx.Response:
        """Follow an insecure registry's redirects: on its own origin with its
        client, elsewhere (storage) with a client that verifies TLS and carries
        none of the registry's credentials."""
        origin = response.request.url
        for hop in range(MAX_REDIRECTS + 1):
            location = response.headers.get("Location")
            if not response.is_redirect or not location:
                return response
            if hop == MAX_REDIRECTS:
                response.close()
                break
            target = response.request.url.join(location)
            response.close()
            self.stats.count(method)
            if (target.scheme, target.netloc) == (origin.scheme, origin.netloc):
                client = self.http()
                request = client.build_request(method, target, headers=response.request.headers)
                response = client.send(request, stream=stream)
            else:
                storage = self._storage_client()
                request = storage.build_request(method, target)
                response = storage.send(request, stream=stream, follow_redirects=True)
        from promoter.errors import NetworkError

        raise NetworkError(f"{self.host}: more than {MAX_REDIRECTS} redirects from {origin}")

    def _storage_client(self) -> httpx.Client:
        import httpx

        with self._lock:
            if self._storage is None:
                self._storage = httpx.Client(
                    verify=self.verifying_context(),
                    timeout=self._timeout(),
                    headers={"User-Agent": self.options.user_agent},
                )
            return self._storage


def _pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), _SEND_PIECE):
        yield bytes(view[start : start + _SEND_PIECE])


class _TransportFailure(Exception):
    """A transport exception that survived the retries (internal)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error
