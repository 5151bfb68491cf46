"""``RawManifest``: manifest bytes with the media type and digest they were served with."""

from __future__ import annotations

from dataclasses import dataclass

from promoter.oci.descriptor import Descriptor
from promoter.oci.manifest import Index, Manifest, parse_manifest

__all__ = ["RawManifest"]


@dataclass(frozen=True)
class RawManifest:
    """Exactly the bytes a source holds, never re-serialized."""

    raw: bytes
    media_type: str
    digest: str

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def descriptor(self) -> Descriptor:
        """A descriptor pointing at these bytes."""
        return Descriptor(self.media_type, self.digest, len(self.raw))

    def parse(self, reference: str | None = None) -> Manifest | Index:
        """The parsed view (a manifest or an index) over the same bytes."""
        return parse_manifest(self.raw, self.media_type, digest=self.digest, reference=reference)
