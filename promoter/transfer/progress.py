"""How the copy engine reports progress: a listener interface, never printing.

The engine calls a :class:`ProgressListener` from its worker threads; an
implementation must be thread-safe. :class:`SilentProgress` does nothing and is
the base to subclass (override only what you need).
"""

from __future__ import annotations

from promoter.oci import Descriptor

__all__ = ["BlobAction", "ProgressListener", "SilentProgress"]

#: What happened to a blob: moved bytes, mounted (no bytes), or already there.
BlobAction = str  # "copied" | "mounted" | "skipped"


class ProgressListener:
    """Receives the events of a copy; every method is a no-op here."""

    def planned(self, source: str, destination: str, blobs: int, total_bytes: int) -> None:
        """The graph is known: how many blobs and bytes may move."""

    def blob_started(self, descriptor: Descriptor) -> None:
        """A blob transfer began (streamed); ``descriptor.size`` bytes are expected."""

    def blob_advanced(self, descriptor: Descriptor, chunk_bytes: int) -> None:
        """``chunk_bytes`` more bytes of a streamed blob went out."""

    def blob_restarted(self, descriptor: Descriptor, reason: str) -> None:
        """A streamed blob failed part way and starts over; its bytes so far are void."""

    def blob_finished(self, descriptor: Descriptor, action: BlobAction) -> None:
        """A blob is at the destination: ``copied``, ``mounted`` or ``skipped``."""

    def manifest_written(self, digest: str, tag: str | None) -> None:
        """A manifest was stored, by digest or under ``tag``."""

    def finished(self, destination: str, digest: str) -> None:
        """The copy to ``destination`` is complete."""


class SilentProgress(ProgressListener):
    """The listener used when nobody listens."""
