"""Stitch per-platform images into one OCI image index (``promoter index create``).

Each per-platform build is pushed on its own; this joins their digests under
one tag. The children are copied into the destination repository first (by
digest, no tags: mounted within a registry), the index is written last. The
index is the one manifest promoter writes itself, so it is serialised here,
compactly and deterministically: the same sources give the same digest.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

from promoter.errors import InputError
from promoter.oci import Descriptor, parse_reference
from promoter.oci import mediatypes as mt
from promoter.oci.descriptor import Platform
from promoter.oci.digest import compute_digest
from promoter.oci.manifest import Index, Manifest, parse_manifest
from promoter.oci.raw import RawManifest
from promoter.oci.reference import ArchiveReference, ImageReference, Reference
from promoter.registry.access.options import RegistryOptions
from promoter.structs import field, struct
from promoter.transfer import CopyOptions, CopyResult, TransferSession
from promoter.transfer.endpoints import TargetEndpoint
from promoter.transfer.engine import copy_content
from promoter.transfer.progress import ProgressListener

__all__ = ["IndexEntry", "IndexResult", "create_index"]

#: Config media types that describe a runnable image (and so carry a platform).
IMAGE_CONFIG_TYPES = frozenset({mt.OCI_CONFIG, mt.DOCKER_CONFIG})


@struct(frozen=True)
class IndexEntry:
    """One child of the index: where it came from, its descriptor and platform."""

    source: str
    descriptor: Descriptor
    platform: str


@struct
class IndexResult:
    """What ``create_index`` wrote."""

    destination: str
    digest: str = ""
    media_type: str = mt.OCI_INDEX
    entries: list[IndexEntry] = field(default_factory=list)
    copies: list[CopyResult] = field(default_factory=list)
    tag: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON form for ``--output json``."""
        return {
            "destination": self.destination,
            "digest": self.digest,
            "mediaType": self.media_type,
            "tag": self.tag,
            "manifests": [
                {
                    "source": entry.source,
                    "digest": entry.descriptor.digest,
                    "size": entry.descriptor.size,
                    "mediaType": entry.descriptor.media_type,
                    "platform": entry.platform,
                }
                for entry in self.entries
            ],
            "bytesCopied": sum(copy.bytes_copied for copy in self.copies),
            "blobsMounted": sum(copy.blobs_mounted for copy in self.copies),
        }


def _destination_tag(reference: ImageReference) -> str:
    if isinstance(reference, ArchiveReference):
        raise InputError(f"{reference}: a docker-archive cannot be written to")
    if isinstance(reference, Reference):
        if reference.digest:
            raise InputError(
                f"{reference}: the destination of an index needs a tag, not a digest",
                hint="the index's digest is only known once it is written",
            )
        return reference.tag or "latest"
    if not reference.tag:
        raise InputError(f"{reference}: give the layout a tag, as oci:PATH:TAG")
    return reference.tag


def _platform_of(endpoint: TargetEndpoint, manifest: Manifest, source: str) -> Platform:
    if manifest.config.media_type not in IMAGE_CONFIG_TYPES:
        raise InputError(
            f"{source} is not a runnable image (config type {manifest.config.media_type!r})",
            hint="index create stitches per-platform images; copy artifacts with promoter copy",
        )
    try:
        config = json.loads(endpoint.target.get_blob_bytes(manifest.config.digest))
    except ValueError:
        raise InputError(f"{source}: the image config is not valid JSON") from None
    if not isinstance(config, dict) or not config.get("os") or not config.get("architecture"):
        raise InputError(f"{source}: the image config names no os/architecture")
    return Platform.from_dict(
        {
            key: config[key]
            for key in ("os", "architecture", "variant", "os.version", "os.features")
            if config.get(key)
        }
    )


def _entries_of(
    endpoint: TargetEndpoint, fetched: RawManifest, source: str
) -> list[tuple[Descriptor, Platform]]:
    parsed = parse_manifest(fetched.raw, fetched.media_type, digest=fetched.digest)
    if isinstance(parsed, Index):
        # A source that is already an index contributes its platform images.
        return [
            (child, child.platform)
            for child in parsed.manifests
            if child.platform is not None and child.platform.os != "unknown"
        ]
    descriptor = Descriptor(fetched.media_type, fetched.digest, len(fetched.raw))
    return [(descriptor, _platform_of(endpoint, parsed, source))]


def _index_bytes(entries: Sequence[IndexEntry], platforms: Sequence[Platform]) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [
            {
                "mediaType": entry.descriptor.media_type,
                "digest": entry.descriptor.digest,
                "size": entry.descriptor.size,
                "platform": platform.to_dict(),
            }
            for entry, platform in zip(entries, platforms, strict=True)
        ],
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=False).encode()


def create_index(
    destination: str,
    sources: Sequence[str],
    *,
    tags: Sequence[str] = (),
    registry_options: RegistryOptions | None = None,
    session: TransferSession | None = None,
    options: CopyOptions | None = None,
    listener: ProgressListener | None = None,
) -> IndexResult:
    """Write ``destination`` (``host/repo:tag`` or ``oci:PATH:TAG``) as an OCI index of ``sources``.

    Every source's content is copied into the destination first; two sources
    of the same platform are refused (exit 2) before anything is written.
    ``tags`` are further tags for the same index. A caller's ``session`` is
    used (and left open) instead of a new one.
    """
    if not sources:
        raise InputError("index create needs at least one source image")
    dst_ref = parse_reference(destination)
    tag = _destination_tag(dst_ref)
    result = IndexResult(destination=destination, tag=tag)
    with contextlib.ExitStack() as stack:
        if session is None:
            session = stack.enter_context(TransferSession(registry_options))
        copies: list[tuple[TargetEndpoint, str]] = []
        platforms: list[Platform] = []
        seen: dict[str, str] = {}
        for source in sources:
            endpoint, identifier = session.source(parse_reference(source))
            fetched = endpoint.get_manifest(identifier)
            copies.append((endpoint, fetched.digest))
            for descriptor, platform in _entries_of(endpoint, fetched, source):
                key = str(platform)
                if key in seen:
                    raise InputError(
                        f"two sources for platform {key}: {seen[key]} and {source}",
                        hint="give each platform once",
                    )
                seen[key] = source
                result.entries.append(IndexEntry(source, descriptor, key))
                platforms.append(platform)
        # Opened only now, so refused input leaves not even an empty layout.
        dst_endpoint, _ = session.destination(dst_ref)
        # Children first: every source's whole graph is in the destination
        # before the index that points at it.
        for endpoint, digest in copies:
            result.copies.append(
                copy_content(endpoint, digest, dst_endpoint, [], options, listener)
            )
        raw = _index_bytes(result.entries, platforms)
        result.digest = compute_digest(raw)
        index = RawManifest(raw, mt.OCI_INDEX, result.digest)
        for name in dict.fromkeys((tag, *tags)):  # tags last, the first one included
            dst_endpoint.put_manifest(index, name, root=True)
    return result
