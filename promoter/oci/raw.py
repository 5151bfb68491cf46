"""What every target reads and writes, as it is: ``RawManifest`` (manifest bytes with
the media type and digest they were served with) and blob content (``BlobOpener``,
``BlobSource``). Registry, OCI layout and archive targets share these types."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from promoter.oci.descriptor import Descriptor
from promoter.oci.manifest import Index, Manifest, parse_manifest
from promoter.structs import struct

__all__ = ["BlobOpener", "BlobSource", "RawManifest"]

#: Reopen blob content from an offset (for resumable streaming uploads).
BlobOpener = Callable[[int], Iterable[bytes]]
#: What an upload accepts: the bytes, an opener, or pieces.
BlobSource = bytes | BlobOpener | Iterable[bytes]


@struct(frozen=True)
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
