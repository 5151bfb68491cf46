"""Blob uploads of ``RegistryClient``: whole, streamed and chunked, with resume.

Sources (``BlobSource``):

* ``bytes`` — one ``PUT ?digest=`` with the whole body (retried as a whole);
* an *opener* ``Callable[[int], Iterable[bytes]]`` returning the content from an
  offset — streamed in one ``PUT``; when it breaks, the registry's upload status
  (``Range: 0-N``) says where to resume, the opener is called again from there
  and the rest goes in a ``PATCH`` (a registry source reopens with a ``Range``
  read). distribution cancels a session whose stored size no longer matches its
  state, so there the upload restarts from 0 in a new session;
* any other ``Iterable[bytes]`` — sent in ``chunk_size`` pieces, each kept in
  memory until the registry has it, resumed from the offset the registry reports
  within that piece. A registry that restarts the session further back (as
  distribution does after a request broke mid-body) can be followed only in the
  first piece: the earlier ones are gone, and the error says to use an opener.

Memory stays bounded by the chunk size whatever the blob size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from promoter.errors import NetworkError, RegistryError
from promoter.oci.digest import Digest, DigestMismatchError
from promoter.oci.raw import BlobOpener, BlobSource
from promoter.registry.access.retry import Attempts
from promoter.registry.transport.auth import push_scope
from promoter.registry.transport.failures import is_retryable_error
from promoter.registry.transport.layers import RegistryRequest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.access.options import RegistryOptions
    from promoter.registry.transport.transport import RegistryTransport

__all__ = ["UploadOperations", "check_stored_digest"]

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


class UploadOperations:
    """Mixin of ``RegistryClient`` for uploads (needs ``transport``, ``host``, ``options``)."""

    transport: RegistryTransport
    host: str
    options: RegistryOptions
    #: Upload sessions a declined mount answered with (202), reused by the next upload.
    _sessions: dict[tuple[str, str], str]

    if TYPE_CHECKING:

        def _ref(self, repository: str, digest: str) -> str:
            """Provided by ``BlobOperations``."""

        def blob_exists(self, repository: str, digest: str) -> bool:
            """Provided by ``BlobOperations``."""

    def _start_upload(self, repository: str, digest: str) -> str:
        saved = self._sessions.pop((repository, digest), None)
        if saved:
            return saved
        response = self.transport.send(
            RegistryRequest(
                "POST",
                f"/v2/{repository}/blobs/uploads/",
                scopes=(push_scope(repository),),
                reference=self._ref(repository, digest),
                action="start upload",
                expect=(202,),
            )
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
        response = self.transport.send(
            RegistryRequest(
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
        check_stored_digest(ref, digest, response.headers.get("Docker-Content-Digest"))

    def _upload_status(self, repository: str, digest: str, location: str) -> tuple[str, int]:
        """Where the registry is in an upload: ``(location, next_offset)``; restarts if lost."""
        response = self.transport.send(
            RegistryRequest(
                "GET",
                location,
                scopes=(push_scope(repository),),
                reference=self._ref(repository, digest),
                action="upload status",
                expect=(204, 200, 400, 404, 416),
            )
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
        response = self.transport.send(
            RegistryRequest(
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
        )
        return self._location(response, repository, digest)

    def _resume_or_raise(self, error: Exception, attempts: Attempts) -> None:
        """Wait to resume after ``error`` when the policy says it is worth it; else raise it."""
        if not (is_retryable_error(error) and attempts.another()):
            raise error

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
        sent = 0
        attempts = self.options.retry.start(self.transport.stats.count_retry)
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
                self._resume_or_raise(error, attempts)
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
        attempts = self.options.retry.start(self.transport.stats.count_retry)
        for piece in _rechunk(chunks, chunk_size):
            start = offset
            data = piece
            while data:
                try:
                    location = self._patch(repository, digest, location, data, start, len(data))
                    self.transport.stats.add(uploaded=len(data))
                    break
                except (NetworkError, RegistryError) as error:
                    self._resume_or_raise(error, attempts)
                    location, reported = self._upload_status(repository, digest, location)
                    if not offset <= reported <= offset + len(piece):
                        # distribution cancels a session whose request broke mid-body;
                        # the chunks before this one are gone from an iterable.
                        raise RegistryError(
                            f"upload blob {self._ref(repository, digest)}: after a broken "
                            f"request the registry is at offset {reported}, before the "
                            f"chunk at {offset} that could be sent again",
                            reference=self._ref(repository, digest),
                            hint="upload from a callable opener(offset), which can "
                            "restart from any offset, rather than from an iterable",
                        ) from error
                    start = reported
                    data = piece[reported - offset :]
            offset += len(piece)
        return location, offset


def check_stored_digest(reference: str, digest: str, declared: str | None) -> None:
    """Raise ``DigestMismatchError`` when a committed upload is declared under another digest."""
    if declared and declared != digest:
        raise DigestMismatchError(
            f"upload blob {reference}: the registry stored {declared}",
            reference=reference,
            code="DIGEST_INVALID",
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
