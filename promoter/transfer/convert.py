"""A source seen with OCI media types: what a copy to an OCI image layout writes.

skopeo (``oci:DIR:TAG``) and umoci read a layout only when its manifests have OCI
media types. ``OciSource`` wraps any source and hands the engine each manifest
converted (:mod:`promoter.oci.convert`): a Docker manifest becomes an OCI one with a
new digest, a Docker manifest list an OCI index naming its converted children. Blobs
pass through untouched (conversion never changes a config or a layer). OCI content
keeps its bytes and digest. ``promoter copy --preserve-digests`` skips all of this.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from promoter.errors import RegistryError
from promoter.oci import Descriptor, Index, parse_manifest
from promoter.oci.convert import ChildDigest, to_oci_media_types
from promoter.oci.digest import compute_digest
from promoter.oci.raw import RawManifest
from promoter.transfer.endpoints import Source
from promoter.transfer.graph import MAX_DEPTH

__all__ = ["OciSource"]


class OciSource:
    """``source`` with every manifest in OCI media types (a ``Source`` itself)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.name = source.name
        self._lock = threading.Lock()
        #: The converted form of each manifest read, by its digest at the source.
        self._by_original: dict[str, RawManifest] = {}
        #: The same, by the converted digest (what the engine asks for next).
        self._by_converted: dict[str, RawManifest] = {}
        #: The manifest at the source of each converted one, by the converted digest.
        self._original_of: dict[str, RawManifest] = {}

    def original(self, digest: str) -> RawManifest | None:
        """The manifest at the source of what is ``digest`` here (None: not read)."""
        with self._lock:
            return self._original_of.get(digest)

    def resolve(self, identifier: str) -> str | None:
        """The converted digest of what ``identifier`` names at the source."""
        if self.source.resolve(identifier) is None:
            return None
        return self.get_manifest(identifier).digest

    def get_manifest(self, identifier: str) -> RawManifest:
        """The manifest ``identifier`` (a tag, a source digest or a converted digest)
        names, with OCI media types."""
        with self._lock:
            known = self._by_converted.get(identifier) or self._by_original.get(identifier)
        if known is not None:
            return known
        return self._convert(self.source.get_manifest(identifier), 0)

    def _convert(self, fetched: RawManifest, depth: int) -> RawManifest:
        if depth > MAX_DEPTH:
            raise RegistryError(
                f"{self.name}: an index nested more than {MAX_DEPTH} levels deep",
                reference=self.name,
            )
        with self._lock:
            known = self._by_original.get(fetched.digest)
        if known is not None:
            return known
        view = parse_manifest(
            fetched.raw, fetched.media_type, digest=fetched.digest, reference=self.name
        )
        children: dict[str, ChildDigest] = {}
        if isinstance(view, Index):
            for child in view.manifests:
                if child.digest not in children:
                    done = self._convert(self.source.get_manifest(child.digest), depth + 1)
                    children[child.digest] = ChildDigest(
                        done.digest, len(done.raw), done.media_type
                    )
        rewritten = to_oci_media_types(fetched.raw, fetched.media_type, children)
        converted = fetched
        if rewritten is not None:
            raw, media_type = rewritten
            converted = RawManifest(raw, media_type, compute_digest(raw))
        with self._lock:
            self._by_original[fetched.digest] = converted
            self._by_converted[converted.digest] = converted
            self._original_of[converted.digest] = fetched
        return converted

    def open_blob(self, descriptor: Descriptor, offset: int = 0) -> Iterable[bytes]:
        """Blobs are the same bytes in either form."""
        return self.source.open_blob(descriptor, offset)

    def referrers(self, digest: str) -> list[Descriptor]:
        """Referrers name the source digest: asked there."""
        original = self.original(digest)
        return self.source.referrers(original.digest if original is not None else digest)
