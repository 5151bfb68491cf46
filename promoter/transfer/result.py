"""What a copy did: blobs copied, mounted or skipped, bytes moved, manifests and tags written."""

from __future__ import annotations

import threading

from promoter.structs import field, struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CopyResult"]


@struct
class CopyResult:
    """The account of one copy (thread-safe counters; ``to_dict`` for ``--output json``)."""

    source: str
    destination: str
    digest: str = ""
    media_type: str = ""
    #: The digest at the source: another one than ``digest`` when the copy converted
    #: Docker media types to OCI ones (a copy to an OCI layout); empty: ``digest``.
    source_digest: str = ""
    source_media_type: str = ""
    up_to_date: bool = False
    blobs_copied: int = 0
    blobs_mounted: int = 0
    blobs_skipped: int = 0
    bytes_copied: int = 0
    bytes_mounted: int = 0
    bytes_skipped: int = 0
    manifests_written: list[str] = field(default_factory=list)
    manifests_present: int = 0
    tags_written: list[str] = field(default_factory=list)
    referrers: list[str] = field(default_factory=list)
    retries: int = 0
    duration: float = 0.0
    #: Digests the destination confirmed during this copy: a blob or manifest it
    #: answered present, or accepted as written (what ``verify_content`` trusts).
    confirmed: set[str] = field(default_factory=set, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def confirm(self, *digests: str) -> None:
        """Note digests the destination answered present or accepted."""
        with self._lock:
            self.confirmed.update(digests)

    def count_blob(self, action: str, size: int, digest: str = "") -> None:
        """Record one blob's outcome (and, with its digest, that the destination has it)."""
        with self._lock:
            if digest:
                self.confirmed.add(digest)
            if action == "copied":
                self.blobs_copied += 1
                self.bytes_copied += size
            elif action == "mounted":
                self.blobs_mounted += 1
                self.bytes_mounted += size
            else:
                self.blobs_skipped += 1
                self.bytes_skipped += size

    def count_retry(self) -> None:
        """Record a blob transfer started over after a failure."""
        with self._lock:
            self.retries += 1

    def absorb(self, other: CopyResult) -> None:
        """Add the counters of a sub-copy (a referrer) into this result."""
        with self._lock:
            self.blobs_copied += other.blobs_copied
            self.blobs_mounted += other.blobs_mounted
            self.blobs_skipped += other.blobs_skipped
            self.bytes_copied += other.bytes_copied
            self.bytes_mounted += other.bytes_mounted
            self.bytes_skipped += other.bytes_skipped
            self.manifests_written += other.manifests_written
            self.manifests_present += other.manifests_present
            self.tags_written += other.tags_written
            self.referrers += [other.digest, *other.referrers]
            self.retries += other.retries

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "source": self.source,
            "destination": self.destination,
            "digest": self.digest,
            "mediaType": self.media_type,
            "sourceDigest": self.source_digest or self.digest,
            "sourceMediaType": self.source_media_type or self.media_type,
            "converted": bool(self.source_digest) and self.source_digest != self.digest,
            "upToDate": self.up_to_date,
            "blobs": {
                "copied": self.blobs_copied,
                "mounted": self.blobs_mounted,
                "skipped": self.blobs_skipped,
            },
            "bytes": {
                "copied": self.bytes_copied,
                "mounted": self.bytes_mounted,
                "skipped": self.bytes_skipped,
            },
            "manifestsWritten": list(self.manifests_written),
            "manifestsPresent": self.manifests_present,
            "tagsWritten": list(self.tags_written),
            "referrers": list(self.referrers),
            "retries": self.retries,
            "durationSeconds": round(self.duration, 4),
        }
