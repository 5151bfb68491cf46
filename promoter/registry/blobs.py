"""Blob operations of ``RegistryClient``: exists, streaming reads, uploads, mounts.

Uploads take one of three sources:

* ``bytes`` — one ``PUT ?digest=`` with the whole body (retried as a whole);
* an *opener* ``Callable[[int], Iterable[bytes]]`` returning the content from an
  offset — streamed in one ``PATCH``; when it breaks, the registry's upload
  status (``Range: 0-N``) says where to resume and the opener is called again
  from there (a registry source reopens with an HTTP ``Range`` read);
* any other ``Iterable[bytes]`` — sent in ``chunk_size`` pieces, each kept in
  memory until the registry has it, resumed from the offset the registry reports.

Memory stays bounded by the chunk size whatever the blob size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from promoter.errors import NetworkError, RegistryError
from promoter.oci.digest import Digest, Digester, DigestMismatchError
from promoter.registry.auth import pull_scope, push_scope

if TYPE_CHECKING:
    from promoter.registry.options import RegistryOptions
    from promoter.registry.transport import RegistryTransport

__all__ = ["BlobOpener", "BlobOperations", "BlobSource"]

#: Reopen blob content from an offset (for resumable streaming uploads).
BlobOpener = Callable[[int], Iterable[bytes]]
#: What ``upload_blob`` accepts.
BlobSource = bytes | BlobOpener | Iterable[bytes]

_OCTET = {"Content-Type": "application/octet-stream"}


class _Counted:
    """Wrap an iterator to count the bytes taken from it."""

    def __init__(self, first: bytes, rest: Iterator[bytes]) -> None:
        self.first = first
        self.rest = rest
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        if self.first:
            self.sent += len(self.first)
            yield self.first
        for chunk in self.rest:
            if chunk:
                self.sent += len(chunk)
                yield chunk


class BlobOperations:
    """Mixin of ``RegistryClient`` for blobs (needs ``transport``, ``host``, ``options``)."""

    transport: RegistryTransport
    host: str
    options: RegistryOptions
    #: Upload sessions a declined mount answered with (202), reused by the next upload.
    _sessions: dict[tuple[str, str], str]

    def _ref(self, repository: str, digest: str) -> str:
        return f"{self.host}/{repository}@{digest}"

    # -- reads ------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        """Whether ``repository`` holds the blob ``digest``."""
        response = self.transport.request(
            "HEAD",
            f"/v2/{repository}/blobs/{digest}",
            scopes=(pull_scope(repository),),
            reference=self._ref(repository, digest),
            action="check blob",
            expect=(200, 404),
            follow_redirects=True,
        )
        return response.status_code == 200

    def get_blob(
        self,
        repository: str,
        digest: str,
        *,
        offset: int = 0,
        chunk_size: int = 1024 * 1024,
        verify: bool = True,
    ) -> Iterator[bytes]:
        """Stream a blob from ``offset``; a break mid-body resumes with a ``Range`` read.

        Read from the start, the content is checked against ``digest`` at the
        end (``DigestMismatchError``).
        """
        import httpx

        Digest.parse(digest)
        ref = self._ref(repository, digest)
        digester = Digester(digest.split(":", 1)[0]) if verify and offset == 0 else None
        position = offset
        policy = self.options.retry
        started = time.monotonic()
        breaks = 0
        while True:
            headers = {"Range": f"bytes={position}-"} if position else {}
            try:
                with self.transport.stream(
                    "GET",
                    f"/v2/{repository}/blobs/{digest}",
                    scopes=(pull_scope(repository),),
                    reference=ref,
                    action="get blob",
                    expect=(200, 206),
                    headers=headers,
                ) as response:
                    skip = position if (position and response.status_code == 200) else 0
                    # As received (no re-chunking): a break loses nothing already read.
                    for chunk in response.iter_raw():
                        if skip:
                            if len(chunk) <= skip:
                                skip -= len(chunk)
                                continue
                            chunk, skip = chunk[skip:], 0
                        position += len(chunk)
                        self.transport.stats.add(downloaded=len(chunk))
                        if digester is not None:
                            digester.update(chunk)
                        yield chunk
                break
            except httpx.TransportError as error:
                breaks += 1
                wait = policy.delay(breaks)
                if not (
                    policy.is_retryable_exception(error) and policy.allows(breaks, started, wait)
                ):
                    raise NetworkError(
                        f"{self.host}: reading blob {ref} broke at byte {position}: "
                        f"{type(error).__name__}",
                        hint="retried within the bounds; the registry may be overloaded",
                    ) from None
                self.transport.stats.add(retries=1)
                time.sleep(wait)
        if digester is not None and digester.digest() != digest:
            raise DigestMismatchError(
                f"blob {ref} does not match its digest: got {digester.digest()}",
                reference=ref,
                code="DIGEST_INVALID",
            )

    def get_blob_bytes(self, repository: str, digest: str, *, max_size: int | None = None) -> bytes:
        """A whole blob in memory (configs, small artifacts), digest-checked."""
        parts: list[bytes] = []
        total = 0
        for chunk in self.get_blob(repository, digest):
            total += len(chunk)
            if max_size is not None and total > max_size:
                raise RegistryError(
                    f"blob {self._ref(repository, digest)} is larger than {max_size} bytes",
                    reference=self._ref(repository, digest),
                )
            parts.append(chunk)
        return b"".join(parts)

    def blob_opener(self, repository: str, digest: str) -> BlobOpener:
        """An opener for ``upload_blob``: the blob's content from any offset."""

        def open_at(offset: int) -> Iterable[bytes]:
            return self.get_blob(repository, digest, offset=offset)

        return open_at

    # -- writes -----------------------------------------------------------

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount on this registry; False when the registry declined.

        A registry that declines answers with a plain upload session, which the
        next ``upload_blob`` of the same blob reuses.
        """
        Digest.parse(digest)
        response = self.transport.request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scopes=(push_scope(repository), pull_scope(from_repository)),
            reference=self._ref(repository, digest),
            action="mount blob",
            params={"mount": digest, "from": from_repository},
            expect=(201, 202),
        )
        if response.status_code == 201:
            return True
        location = response.headers.get("Location")
        if location:
            self._sessions[(repository, digest)] = location
        return False

    def _start_upload(self, repository: str, digest: str) -> str:
        saved = self._sessions.pop((repository, digest), None)
        if saved:
            return saved
        response = self.transport.request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scopes=(push_scope(repository),),
            reference=self._ref(repository, digest),
            action="start upload",
            expect=(202,),
        )
        return self._location(response, repository, digest)

    def _location(self, response: object, repository: str, digest: str) -> str:
        location = getattr(response, "headers", {}).get("Location")
        if not location:
            raise RegistryError(
                f"{self._ref(repository, digest)}: upload answer without a Location",
                reference=self._ref(repository, digest),
            )
        return str(location)

    def upload_blob(
        self,
        repository: str,
        digest: str,
        size: int | None,
        source: BlobSource,
        *,
        chunk_size: int | None = None,
    ) -> int:
        """Upload a blob; return the bytes sent. See the module docstring for sources."""
        Digest.parse(digest)
        if isinstance(source, (bytes, bytearray, memoryview)):
            return self._upload_whole(repository, digest, bytes(source))
        location = self._start_upload(repository, digest)
        if callable(source):
            return self._upload_streamed(repository, digest, size, source, location)
        location, sent = self._upload_chunked(
            repository, digest, iter(source), location, chunk_size or self.options.chunk_size
        )
        self._finish(repository, digest, location, b"")
        return sent

    def _upload_whole(self, repository: str, digest: str, data: bytes) -> int:
        location = self._start_upload(repository, digest)
        self._finish(repository, digest, location, data)
        self.transport.stats.add(uploaded=len(data))
        return len(data)

    def _finish(
        self, repository: str, digest: str, location: str, data: bytes | Iterable[bytes]
    ) -> None:
        """``PUT ?digest=`` closing the upload, with the last (or only) bytes."""
        ref = self._ref(repository, digest)
        response = self.transport.request(
            "PUT",
            location,
            scopes=(push_scope(repository),),
            reference=ref,
            action="upload blob",
            params={"digest": digest},
            headers=_OCTET,
            content=data,
            expect=(201, 204, 404),
        )
        if response.status_code == 404:
            # The session is gone: fine if an earlier attempt completed it.
            if not self.blob_exists(repository, digest):
                raise RegistryError(
                    f"upload blob {ref}: the upload session disappeared (HTTP 404)",
                    status=404,
                    code="BLOB_UPLOAD_UNKNOWN",
                    reference=ref,
                )
            return
        declared = response.headers.get("Docker-Content-Digest")
        if declared and declared != digest:
            raise DigestMismatchError(
                f"upload blob {ref}: the registry stored {declared}",
                reference=ref,
                code="DIGEST_INVALID",
            )

    def _upload_status(self, repository: str, digest: str, location: str) -> tuple[str, int]:
        """Where the registry is in an upload: ``(location, next_offset)``; restarts if lost."""
        response = self.transport.request(
            "GET",
            location,
            scopes=(push_scope(repository),),
            reference=self._ref(repository, digest),
            action="upload status",
            expect=(204, 200, 400, 404, 416),
        )
        if response.status_code >= 400:
            # Lost, or (distribution) cancelled because the stored size no longer
            # matches the session state after a broken request: start again.
            return self._start_upload(repository, digest), 0
        new_location = response.headers.get("Location") or location
        text = response.headers.get("Range", "")
        try:
            end = int(text.rsplit("-", 1)[1]) if "-" in text else -1
        except ValueError:
            end = -1
        # distribution reports "0-0" for an empty upload as well as for one byte:
        # restarting from 0 is safe only in the empty case, so trust "0-0" as empty.
        return new_location, (end + 1 if end > 0 else 0)

    def _patch(
        self,
        repository: str,
        digest: str,
        location: str,
        body: Iterable[bytes] | bytes,
        offset: int,
        length: int | None,
    ) -> str:
        headers = dict(_OCTET)
        if length is not None:
            headers["Content-Range"] = f"{offset}-{offset + length - 1}"
        response = self.transport.request(
            "PATCH",
            location,
            scopes=(push_scope(repository),),
            reference=self._ref(repository, digest),
            action="upload blob",
            headers=headers,
            content=body,
            expect=(202, 204),
            retry=False,
        )
        return self._location(response, repository, digest)

    def _resume_or_raise(
        self, error: Exception, breaks: int, started: float, repository: str, digest: str
    ) -> None:
        policy = self.options.retry
        retryable = isinstance(error, NetworkError) or (
            isinstance(error, RegistryError)
            and error.status is not None
            and policy.is_retryable_status(error.status, error.code)
        )
        wait = policy.delay(breaks)
        if not retryable or not policy.allows(breaks, started, wait):
            raise error
        self.transport.stats.add(retries=1)
        time.sleep(wait)

    def _upload_streamed(
        self,
        repository: str,
        digest: str,
        size: int | None,
        opener: BlobOpener,
        location: str,
    ) -> int:
        """One streamed ``PUT``; after a break, ``PATCH`` the rest from the registry's
        offset and close with an empty ``PUT``."""
        offset = 0
        breaks = 0
        sent = 0
        started = time.monotonic()
        while True:
            iterator = iter(opener(offset))
            # Open the read before taking a write slot (lock order: reads, then writes).
            first = next(iterator, b"")
            body = _Counted(first, iterator)
            try:
                if offset == 0:
                    self._finish(repository, digest, location, body)
                else:
                    location = self._patch(repository, digest, location, body, offset, None)
                    self._finish(repository, digest, location, b"")
                self.transport.stats.add(uploaded=body.sent)
                return sent + body.sent
            except (NetworkError, RegistryError) as error:
                self.transport.stats.add(uploaded=body.sent)
                sent += body.sent
                _close(iterator)
                if isinstance(error, RegistryError) and error.code == "DIGEST_INVALID":
                    raise
                breaks += 1
                self._resume_or_raise(error, breaks, started, repository, digest)
                location, offset = self._upload_status(repository, digest, location)
                if size is not None and offset > size:
                    location, offset = self._start_upload(repository, digest), 0

    def _upload_chunked(
        self,
        repository: str,
        digest: str,
        chunks: Iterator[bytes],
        location: str,
        chunk_size: int,
    ) -> tuple[str, int]:
        offset = 0
        breaks = 0
        started = time.monotonic()
        for piece in _rechunk(chunks, chunk_size):
            start = offset
            data = piece
            while data:
                try:
                    location = self._patch(repository, digest, location, data, start, len(data))
                    self.transport.stats.add(uploaded=len(data))
                    break
                except (NetworkError, RegistryError) as error:
                    breaks += 1
                    self._resume_or_raise(error, breaks, started, repository, digest)
                    location, reported = self._upload_status(repository, digest, location)
                    if not offset <= reported <= offset + len(piece):
                        raise RegistryError(
                            f"upload blob {self._ref(repository, digest)}: the registry "
                            f"reports offset {reported}, outside the chunk being resent",
                            reference=self._ref(repository, digest),
                        ) from error
                    start = reported
                    data = piece[reported - offset :]
            offset += len(piece)
        return location, offset

    def delete_blob(self, repository: str, digest: str) -> None:
        """Delete a blob from ``repository`` (the registry must allow deletes)."""
        self.transport.request(
            "DELETE",
            f"/v2/{repository}/blobs/{digest}",
            scopes=(f"repository:{repository}:delete", push_scope(repository)),
            reference=self._ref(repository, digest),
            action="delete blob",
            expect=(202, 200),
        )


def _rechunk(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def _close(iterator: Iterator[bytes]) -> None:
    close = getattr(iterator, "close", None)
    if callable(close):
        close()
