"""The staging side of one image's promotion, read once for every destination.

A promotion copies the same digest to several destinations; each copy asks
the source the same questions (what a digest or cosign tag resolves to, the
manifest, the referrers). ``SharedSource`` answers each question once per
image, so a promotion to N destinations reads staging's metadata once, not N
times.

Small blobs (configs, small layers: up to ``SHARED_BLOB_LIMIT`` each and
``SHARED_BUDGET`` at once per image) are read from staging once, checked
against their digest, and handed to every destination from memory; a blob is
dropped as soon as each destination has taken it. Larger blobs stream from
staging for each destination, so memory stays bounded whatever the image size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from promoter.oci import Descriptor
from promoter.oci.digest import Digester, DigestMismatchError
from promoter.oci.raw import RawManifest
from promoter.registry.target import Target
from promoter.transfer.endpoints import TargetEndpoint

__all__ = ["SHARED_BLOB_LIMIT", "SHARED_BUDGET", "SharedSource"]

T = TypeVar("T")

#: Blobs up to this size are read once and shared by every destination.
SHARED_BLOB_LIMIT = 2 * 1024 * 1024
#: Bytes of shared blobs one image holds at most at once.
SHARED_BUDGET = 8 * 1024 * 1024


class SharedSource:
    """A ``Source`` over a ``TargetEndpoint`` that remembers metadata answers (thread-safe)."""

    def __init__(self, endpoint: TargetEndpoint, readers: int = 1) -> None:
        self.endpoint = endpoint
        #: How many destinations read this image's blobs (sharing pays from two).
        self.readers = readers
        self._held = 0
        self._taken: dict[str, int] = {}
        self.name = endpoint.name
        self.target: Target = endpoint.target  # the copy engine mounts from it
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str], object] = {}
        self._pending: dict[tuple[str, str], threading.Event] = {}

    def _once(self, key: tuple[str, str], ask: Callable[[], T]) -> T:
        while True:
            with self._lock:
                if key in self._answers:
                    return self._answers[key]  # type: ignore[return-value]
                waiting = self._pending.get(key)
                if waiting is None:
                    self._pending[key] = threading.Event()
                    break
            waiting.wait()
        try:
            answer = ask()
            with self._lock:
                self._answers[key] = answer
            return answer
        finally:
            with self._lock:
                self._pending.pop(key).set()

    def resolve(self, identifier: str) -> str | None:
        """The digest a tag or digest names in staging (asked once)."""
        return self._once(("resolve", identifier), lambda: self.endpoint.resolve(identifier))

    def get_manifest(self, identifier: str) -> RawManifest:
        """A manifest by digest or tag (fetched once)."""
        return self._once(("manifest", identifier), lambda: self.endpoint.get_manifest(identifier))

    def open_blob(self, descriptor: Descriptor, offset: int = 0) -> Iterable[bytes]:
        """A small blob from memory (read once for all destinations), else a stream."""
        if offset or not self._share(descriptor):
            return self.endpoint.open_blob(descriptor, offset)
        key = ("blob", descriptor.digest)
        data: bytes = self._once(key, lambda: self._read_whole(descriptor))
        with self._lock:
            taken = self._taken[descriptor.digest] = self._taken.get(descriptor.digest, 0) + 1
            if taken >= self.readers and self._answers.pop(key, None) is not None:
                self._held -= descriptor.size  # every destination has it: let it go
        return [data]

    def _share(self, descriptor: Descriptor) -> bool:
        """Whether to hold this blob for the other destinations (within the budget)."""
        if self.readers < 2 or descriptor.size > SHARED_BLOB_LIMIT:
            return False
        with self._lock:
            if descriptor.digest in self._taken:
                return self._taken[descriptor.digest] < self.readers
            if self._held + descriptor.size > SHARED_BUDGET:
                return False
            self._held += descriptor.size
            self._taken[descriptor.digest] = 0
            return True

    def _read_whole(self, descriptor: Descriptor) -> bytes:
        """The blob's bytes, checked here: every destination gets these same bytes."""
        data = b"".join(self.endpoint.open_blob(descriptor, 0))
        digester = Digester(descriptor.digest.split(":", 1)[0])
        digester.update(data)
        if len(data) != descriptor.size or digester.digest() != descriptor.digest:
            reference = f"{self.name}@{descriptor.digest}"
            raise DigestMismatchError(
                f"blob {reference} does not match its descriptor: {len(data)} bytes "
                f"hashing to {digester.digest()}",
                reference=reference,
                code="DIGEST_INVALID",
            )
        return data

    def referrers(self, digest: str) -> list[Descriptor]:
        """What refers to ``digest`` in staging (asked once)."""
        return self._once(("referrers", digest), lambda: self.endpoint.referrers(digest))
