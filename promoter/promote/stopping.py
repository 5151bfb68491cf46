"""Interrupts of a promotion: the request the CLI sets on SIGINT or SIGTERM, and where
a running promotion heeds it.

The tag phase is the commit point (see ``promote.apply``): an image that has not
entered it stops at its next blob event (``WatchingListener``) or step
(``StopRequest.check``); one that has finishes its tags and records. The request is a
value of the run: the CLI makes one per command, its signal handlers set it, and it
reaches a promotion as ``ApplyOptions.stop``.
"""

from __future__ import annotations

import threading

from promoter.oci import Descriptor
from promoter.transfer import ProgressListener
from promoter.transfer.progress import BlobAction

__all__ = ["StopRequest", "Stopped", "WatchingListener"]


class StopRequest:
    """An interrupt asked for: promotions stop before their tag phase, finish it once in it.

    ``request`` is safe in a signal handler (it only sets an event); the
    images in their tag phase are counted so the CLI can say what it waits for.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self.tagging: set[str] = set()
        #: ``apply_plan`` is running: an interrupt now waits for the commit point.
        self.applying = False

    @property
    def requested(self) -> bool:
        """An interrupt came."""
        return self._event.is_set()

    def request(self) -> None:
        """Ask every promotion to stop at its next safe point."""
        self._event.set()

    def check(self) -> None:
        """Raise ``Stopped`` when an interrupt came (a point before the commit)."""
        if self._event.is_set():
            raise Stopped

    def enter_tag_phase(self, image: str) -> None:
        """The commit point: from here the image's tags and records are finished."""
        with self._lock:
            self.check()
            self.tagging.add(image)

    def leave_tag_phase(self, image: str) -> None:
        """The image's tag phase is over."""
        with self._lock:
            self.tagging.discard(image)


class Stopped(BaseException):
    """Unwinds an image's promotion before its tag phase (not an ``Exception``: no
    retry or error handler on the way may swallow it)."""


class WatchingListener(ProgressListener):
    """Passes progress on, and stops a copy at its next event once ``stop`` is requested."""

    def __init__(self, stop: StopRequest, inner: ProgressListener | None) -> None:
        self.stop = stop
        self.inner = inner or ProgressListener()

    def planned(self, source: str, destination: str, blobs: int, total_bytes: int) -> None:
        self.stop.check()
        self.inner.planned(source, destination, blobs, total_bytes)

    def blob_started(self, descriptor: Descriptor) -> None:
        self.stop.check()
        self.inner.blob_started(descriptor)

    def blob_advanced(self, descriptor: Descriptor, chunk_bytes: int) -> None:
        self.stop.check()
        self.inner.blob_advanced(descriptor, chunk_bytes)

    def blob_restarted(self, descriptor: Descriptor, reason: str) -> None:
        self.stop.check()
        self.inner.blob_restarted(descriptor, reason)

    def blob_finished(self, descriptor: Descriptor, action: BlobAction) -> None:
        self.inner.blob_finished(descriptor, action)
        self.stop.check()

    def manifest_written(self, digest: str, tag: str | None) -> None:
        self.inner.manifest_written(digest, tag)

    def finished(self, destination: str, digest: str) -> None:
        self.inner.finished(destination, digest)
