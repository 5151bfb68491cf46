"""The staging side of one image's promotion, read once for every destination.

A promotion copies the same digest to several destinations; each copy asks
the source the same questions (what a digest or cosign tag resolves to, the
manifest, the referrers). ``SharedSource`` answers each question once per
image, so a promotion to N destinations reads staging's metadata once, not N
times. Blobs are streamed from the source every time (never held in memory).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from promoter.oci import Descriptor
from promoter.registry.target import Target
from promoter.transfer.endpoints import FetchedManifest, TargetEndpoint

__all__ = ["SharedSource"]

T = TypeVar("T")


class SharedSource:
    """A ``Source`` over a ``TargetEndpoint`` that remembers metadata answers (thread-safe)."""

    def __init__(self, endpoint: TargetEndpoint) -> None:
        self.endpoint = endpoint
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

    def get_manifest(self, identifier: str) -> FetchedManifest:
        """A manifest by digest or tag (fetched once)."""
        return self._once(("manifest", identifier), lambda: self.endpoint.get_manifest(identifier))

    def open_blob(self, descriptor: Descriptor, offset: int = 0) -> Iterable[bytes]:
        """Stream a blob (every time: blobs are never cached)."""
        return self.endpoint.open_blob(descriptor, offset)

    def referrers(self, digest: str) -> list[Descriptor]:
        """What refers to ``digest`` in staging (asked once)."""
        return self._once(("referrers", digest), lambda: self.endpoint.referrers(digest))
