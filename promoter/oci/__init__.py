"""The OCI model: references, digests, media types, descriptors and manifests.

Pure data, no I/O: the registry layer above fetches bytes and parses them here.
"""

from __future__ import annotations

from promoter.oci.descriptor import Descriptor, Platform
from promoter.oci.digest import (
    Digest,
    Digester,
    DigestMismatchError,
    compute_digest,
    is_digest,
    verify_digest,
)
from promoter.oci.manifest import (
    MAX_MANIFEST_SIZE,
    Index,
    InvalidManifestError,
    Manifest,
    UnsupportedManifestError,
    parse_manifest,
)
from promoter.oci.raw import RawManifest
from promoter.oci.reference import (
    ArchiveReference,
    ImageReference,
    LayoutReference,
    Reference,
    parse_reference,
    parse_registry_reference,
)

__all__ = [
    "MAX_MANIFEST_SIZE",
    "ArchiveReference",
    "Descriptor",
    "Digest",
    "DigestMismatchError",
    "Digester",
    "ImageReference",
    "Index",
    "InvalidManifestError",
    "LayoutReference",
    "Manifest",
    "Platform",
    "RawManifest",
    "Reference",
    "UnsupportedManifestError",
    "compute_digest",
    "is_digest",
    "parse_manifest",
    "parse_reference",
    "parse_registry_reference",
    "verify_digest",
]
