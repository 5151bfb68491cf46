"""Blob reads and mounts of ``RegistryClient``: exists, streaming reads, mounts.

``get_blob`` streams as the bytes arrive and, when the connection breaks mid-body,
goes on with a ``Range`` read from the last byte received. Uploads live in
``promoter.registry.remote.upload``; ``BlobOpener`` and ``BlobSource`` (in
``promoter.oci.raw``) are the types they accept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from promoter.errors import NetworkError, RegistryError
from promoter.oci.digest import Digest, Digester, DigestMismatchError
from promoter.oci.raw import BlobOpener
from promoter.registry.transport.auth import pull_scope, push_scope
from promoter.registry.transport.deadline import speed_floor
from promoter.registry.transport.failures import BrokenBody, broken_words
from promoter.registry.transport.layers import RegistryRequest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.access.options import RegistryOptions
    from promoter.registry.remote.memo import RunMemo
    from promoter.registry.transport.transport import RegistryTransport
    from promoter.registry.transport.wire import Response

__all__ = ["BlobOperations"]


class BlobOperations:
    """Mixin of ``RegistryClient`` for blobs (needs ``transport``, ``host``, ``options``)."""

    transport: RegistryTransport
    host: str
    options: RegistryOptions
    memo: RunMemo
    #: Upload sessions a declined mount answered with (202), reused by the next upload.
    _sessions: dict[tuple[str, str], str]

    def _ref(self, repository: str, digest: str) -> str:
        return f"{self.host}/{repository}@{digest}"

    # -- reads ------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        """Whether ``repository`` holds the blob ``digest``."""
        response = self.transport.send(
            RegistryRequest(
                "HEAD",
                f"/v2/{repository}/blobs/{digest}",
                scopes=(pull_scope(repository),),
                reference=self._ref(repository, digest),
                action="check blob",
                expect=(200, 404),
                follow_redirects=True,
            )
        )
        return response.status_code == 200

    def get_blob(
        self,
        repository: str,
        digest: str,
        *,
        offset: int = 0,
        verify: bool = True,
    ) -> Iterator[bytes]:
        """Stream a blob from ``offset``; a break mid-body resumes with a ``Range`` read.

        Read from the start, the content is checked against ``digest`` at the
        end (``DigestMismatchError``).
        """
        Digest.parse(digest)
        kept = self.memo.content(repository, digest) if offset == 0 else None
        if isinstance(kept, bytes):  # read whole and checked earlier in this run
            yield kept
            return
        ref = self._ref(repository, digest)
        digester = Digester(digest.split(":", 1)[0]) if verify and offset == 0 else None
        position = offset
        attempts = self.options.retry.start(self.transport.stats.count_retry)
        while True:
            try:
                with self._blob_stream(repository, digest, ref, position) as response:
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
            except BrokenBody as broken:
                if not (
                    self.options.retry.is_retryable_exception(broken.error) and attempts.another()
                ):
                    raise NetworkError(
                        f"{self.host}: get blob {ref}: at byte {position}, "
                        f"{broken_words(broken.error)}",
                        hint="retried within the bounds; the registry may be overloaded",
                    ) from None
        if digester is not None and digester.digest() != digest:
            raise DigestMismatchError(
                f"blob {ref} does not match its digest: got {digester.digest()}",
                reference=ref,
                code="DIGEST_INVALID",
            )

    @contextmanager
    def _blob_stream(
        self, repository: str, digest: str, ref: str, position: int
    ) -> Iterator[Response]:
        """The answer to a blob read from ``position``, under the speed floor."""
        request = RegistryRequest(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scopes=(pull_scope(repository),),
            reference=ref,
            action="get blob",
            expect=(200, 206),
            headers={"Range": f"bytes={position}-"} if position else None,
            follow_redirects=True,
        )
        slow = (
            f"{self.host}: get blob {ref}: slower than {self.options.speed_limit:g} bytes/s "
            f"over {self.options.speed_time:g} s"
        )
        with (
            speed_floor(self.options.speed_limit, self.options.speed_time, slow),
            self.transport.stream(request) as response,
        ):
            yield response

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
        data = b"".join(parts)
        self.memo.keep(repository, digest, data, len(data))
        return data

    def blob_opener(self, repository: str, digest: str) -> BlobOpener:
        """An opener for ``upload_blob``: the blob's content from any offset.

        Not hashed on the way: the destination checks the digest as it commits
        the upload, and hashing twice would cost a CPU second per GiB.
        """

        def open_at(offset: int) -> Iterable[bytes]:
            return self.get_blob(repository, digest, offset=offset, verify=False)

        return open_at

    # -- writes -----------------------------------------------------------

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount on this registry; False when the registry declined.

        A registry that declines answers with a plain upload session, which the
        next ``upload_blob`` of the same blob reuses.
        """
        Digest.parse(digest)
        response = self.transport.send(
            RegistryRequest(
                "POST",
                f"/v2/{repository}/blobs/uploads/",
                scopes=(push_scope(repository), pull_scope(from_repository)),
                reference=self._ref(repository, digest),
                action="mount blob",
                params={"mount": digest, "from": from_repository},
                expect=(201, 202),
            )
        )
        if response.status_code == 201:
            return True
        location = response.headers.get("Location")
        if location:
            self._sessions[(repository, digest)] = location
        return False
