"""A large blob from one registry straight into another, without copies in Python.

The regular path (``get_blob`` into ``upload_blob``) hands every piece of a
blob through the layers twice, each piece a new bytes object. A pipe opens one plain ``http.client``
connection to each registry and moves the body with ``readinto`` and
``sendall`` through one reused buffer: the kernel copies, Python only loops.

It is a fast path, never the only one. A source that redirects its blob reads
to storage (ACR, ECR, a CDN) is followed there, without the registry's
credentials. ``pipe_blob`` raises ``PipeUnavailable`` before anything is sent
when it does not apply (an injected transport, a proxy, a 401 challenge, a
chunked or unexpected answer) and the caller takes the regular path. A failure
once bytes flow raises the usual ``NetworkError`` or ``RegistryError``; the
copy engine then starts the blob over on the regular path, which resumes
broken streams piece by piece. The destination checks the digest as it
commits the upload either way.
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

from promoter.errors import NetworkError
from promoter.oci.digest import Digest
from promoter.registry.remote.upload import check_stored_digest
from promoter.registry.transport.auth import pull_scope, push_scope
from promoter.registry.transport.deadline import Scope
from promoter.registry.transport.errors import error_from_status
from promoter.registry.transport.failures import broken_words
from promoter.registry.transport.http1 import proxy_for, unverified_context
from promoter.registry.transport.layers import MAX_REDIRECTS

if TYPE_CHECKING:
    from promoter.oci import Descriptor
    from promoter.registry.remote.client import RegistryClient
    from promoter.registry.transport.transport import RegistryTransport

__all__ = ["PIPE_MIN_SIZE", "PipeUnavailable", "pipe_blob"]

#: Smaller blobs take the regular path: a pipe opens two connections of its own.
PIPE_MIN_SIZE = 4 * 1024 * 1024
#: The one buffer a pipe moves bytes through.
_BUFFER = 1024 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class PipeUnavailable(Exception):
    """The pipe does not apply here; nothing was sent to the destination."""


def pipe_blob(
    source: RegistryClient,
    source_repository: str,
    destination: RegistryClient,
    destination_repository: str,
    descriptor: Descriptor,
    advanced: Callable[[int], None] | None = None,
) -> None:
    """Stream ``descriptor`` from ``source`` into ``destination`` and commit it."""
    digest = descriptor.digest
    Digest.parse(digest)
    reading, writing = source.transport, destination.transport
    for transport in (reading, writing):
        if transport.options.transport is not None or _proxied(transport.host):
            raise PipeUnavailable(f"{transport.host}: not a direct connection")
    source_base, destination_base = reading.base_url(), writing.base_url()
    ref = f"{destination.host}/{destination_repository}@{digest}"
    with ExitStack() as stack:
        # Lock order as everywhere: the read slot, then the write slot (taken
        # after the upload session starts: that POST takes a write slot itself).
        stack.enter_context(reading.slot("GET"))
        body = stack.enter_context(_open_read(reading, source_base, source_repository, descriptor))
        location = destination._start_upload(destination_repository, digest)
        target = _same_origin(destination_base, location)
        if target is None:
            destination._sessions[(destination_repository, digest)] = location
            raise PipeUnavailable("the upload session lives on another host")
        stack.enter_context(writing.slot("PUT"))
        query = urllib.parse.urlencode({"digest": digest})
        path = target + ("&" if "?" in target else "?") + query
        upload = stack.enter_context(_connection(writing, destination_base))
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(descriptor.size),
            "User-Agent": writing.options.user_agent,
            **writing.auth.headers((push_scope(destination_repository),)),
        }
        writing.stats.count("PUT")
        try:
            upload.putrequest("PUT", path, skip_accept_encoding=True)
            for name, value in headers.items():
                upload.putheader(name, value)
            upload.endheaders()
            _move(body, upload, descriptor.size, reading, writing, advanced)
            answer = upload.getresponse()
            text = answer.read(65536)
        except (OSError, http.client.HTTPException) as error:
            raise NetworkError(
                f"{destination.host}: streaming blob {ref} from {source.host}: "
                f"{broken_words(error)}",
                hint="retried on the regular path; the registry may be overloaded",
            ) from None
    if answer.status not in (201, 204):
        raise error_from_status(
            answer.status, text, ref, action="upload blob", credential_source=writing.auth.source
        )
    check_stored_digest(ref, digest, answer.getheader("Docker-Content-Digest"))


def _move(
    body: http.client.HTTPResponse,
    upload: http.client.HTTPConnection,
    size: int,
    reading: RegistryTransport,
    writing: RegistryTransport,
    advanced: Callable[[int], None] | None,
) -> None:
    buffer = bytearray(min(_BUFFER, max(1, size)))
    view = memoryview(buffer)
    left = size
    floor = _speed_floor(reading)
    while left:
        try:
            if floor is not None:
                floor.timeout(None)  # raises once a whole window stayed under the floor
            got = body.readinto(view[: min(len(buffer), left)])
        except TimeoutError:
            if floor is not None:
                floor.timed_out()
            raise
        if not got:
            raise http.client.IncompleteRead(b"", left)
        if floor is not None:
            floor.moved(got)
        upload.send(view[:got])
        left -= got
        reading.stats.add(downloaded=got)
        writing.stats.add(uploaded=got)
        if advanced is not None:
            advanced(got)


def _speed_floor(transport: RegistryTransport) -> Scope | None:
    """The blob read's speed floor (``speed_limit`` bytes/s over ``speed_time`` s), as
    the regular path keeps it; None when switched off."""
    options = transport.options
    if not (options.speed_limit > 0 and options.speed_time > 0):
        return None
    return Scope(
        f"{transport.host}: get blob: slower than {options.speed_limit:g} bytes/s "
        f"over {options.speed_time:g} s",
        floor=options.speed_limit,
        window=options.speed_time,
    )


@contextmanager
def _open_read(
    transport: RegistryTransport, base: str, repository: str, descriptor: Descriptor
) -> Iterator[http.client.HTTPResponse]:
    """The answer to ``GET`` the blob: 200 with the blob's length, or unavailable.

    A redirect (to the storage behind ACR, ECR or a CDN) is followed, up to
    ``MAX_REDIRECTS`` times; the registry's credentials go to the registry's own
    origin only, never to storage.
    """
    url = f"{base}/v2/{repository}/blobs/{descriptor.digest}"
    for _hop in range(MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        own = _origin(url) == _origin(base)
        if not own and (parts.scheme not in ("http", "https") or _proxied(parts.netloc)):
            raise PipeUnavailable(f"{parts.netloc}: not a direct connection")
        headers = {"Accept": "*/*", "User-Agent": transport.options.user_agent}
        if own:
            headers.update(transport.auth.headers((pull_scope(repository),)))
        connection = _open_connection(transport, url, registry=own, reading=True)
        try:
            transport.stats.count("GET")
            try:
                connection.request("GET", _path_and_query(url), headers=headers)
                answer = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                raise PipeUnavailable(f"{parts.netloc}: {type(error).__name__}") from None
            location = answer.getheader("Location")
            if answer.status in _REDIRECT_STATUSES and location:
                url = urllib.parse.urljoin(url, location)
                continue
            length = answer.getheader("Content-Length")
            if answer.status != 200:  # a challenge, an error: the regular path
                raise PipeUnavailable(f"{parts.netloc} answered HTTP {answer.status}")
            if answer.chunked or length is None or int(length) != descriptor.size:
                raise PipeUnavailable(
                    f"{parts.netloc}: not a plain body of {descriptor.size} bytes"
                )
            yield answer
            return
        finally:
            connection.close()
    raise PipeUnavailable(f"{transport.host}: more than {MAX_REDIRECTS} redirects")


@contextmanager
def _connection(transport: RegistryTransport, base: str) -> Iterator[http.client.HTTPConnection]:
    """A connection of the pipe's own to the registry at ``base``."""
    connection = _open_connection(transport, base, registry=True)
    try:
        yield connection
    finally:
        connection.close()


def _open_connection(
    transport: RegistryTransport, url: str, *, registry: bool, reading: bool = False
) -> http.client.HTTPConnection:
    """A connection to ``url``'s origin: TLS as the transport verifies its registry,
    and always verified for another host (storage). A read gives up on silence
    after the speed floor's window (nothing in a window is under any floor)."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port
    options = transport.options
    timeout = options.stall_timeout
    if reading and options.speed_limit > 0 and options.speed_time > 0:
        timeout = min(timeout, options.speed_time + 0.05)
    if parts.scheme != "https":
        return http.client.HTTPConnection(host, port, timeout=timeout)
    if registry and transport.insecure:
        context = unverified_context()
    else:
        context = transport.verifying_context()
    return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _same_origin(base: str, location: str) -> str | None:
    """The path and query of ``location`` when it is on ``base``'s scheme and host."""
    resolved = urllib.parse.urljoin(base + "/", location)
    if _origin(resolved) != _origin(base):
        return None
    return _path_and_query(resolved)


def _path_and_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _proxied(host: str) -> bool:
    """Whether the environment routes ``host`` through a proxy (never for loopback)."""
    return proxy_for("https", host) is not None or proxy_for("http", host) is not None
