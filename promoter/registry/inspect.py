"""What a reference resolves to: digest, media type, platforms, size, tags, config.

``inspect_reference`` is the library side of ``promoter inspect``: a handful of
reads (the manifest, the children of an index, the config when asked, the tag
list), never a write.
"""

from __future__ import annotations

import json

from promoter.errors import InputError
from promoter.oci import mediatypes as mt
from promoter.oci.manifest import Index, Manifest
from promoter.oci.raw import RawManifest
from promoter.oci.reference import parse_reference
from promoter.registry.access.options import RegistryOptions
from promoter.registry.remote.pool import Registries
from promoter.registry.target import Target, open_target
from promoter.structs import field, struct

__all__ = ["Inspection", "PlatformEntry", "inspect_reference"]

#: An index with more children than this is described without fetching them.
_MAX_CHILDREN_FETCHED = 64


@struct(frozen=True)
class PlatformEntry:
    """One manifest of an index (or the image itself)."""

    platform: str | None
    digest: str
    media_type: str
    size: int

    def to_dict(self) -> dict[str, object]:
        return {
            "platform": self.platform,
            "digest": self.digest,
            "mediaType": self.media_type,
            "size": self.size,
        }


@struct(frozen=True)
class Inspection:
    """The answer of ``inspect_reference``; ``raw`` and ``config`` are exact bytes."""

    reference: str
    digest: str
    media_type: str
    size: int
    raw: bytes
    platforms: list[PlatformEntry] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    artifact_type: str | None = None
    config_media_type: str | None = None
    layers: int | None = None
    subject: str | None = None
    config: bytes | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON form of ``--output json``."""
        out: dict[str, object] = {
            "reference": self.reference,
            "digest": self.digest,
            "mediaType": self.media_type,
            "size": self.size,
            "platforms": [p.to_dict() for p in self.platforms],
            "tags": self.tags,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.config_media_type:
            out["configMediaType"] = self.config_media_type
        if self.layers is not None:
            out["layers"] = self.layers
        if self.subject:
            out["subject"] = self.subject
        if self.config is not None:
            out["config"] = json.loads(self.config)
        return out


def _image_platform(
    target: Target, view: Manifest, want_config: bool
) -> tuple[str | None, bytes | None]:
    if view.config.media_type not in (mt.OCI_CONFIG, mt.DOCKER_CONFIG):
        return None, None
    config = target.get_blob_bytes(view.config.digest)
    try:
        document = json.loads(config)
    except ValueError:
        return None, config if want_config else None
    platform = None
    if isinstance(document, dict) and document.get("os") and document.get("architecture"):
        platform = f"{document['os']}/{document['architecture']}"
        if document.get("variant"):
            platform += f"/{document['variant']}"
    return platform, config if want_config else None


def _describe(target: Target, reference: str, root: RawManifest, want_config: bool) -> Inspection:
    view = root.parse(reference)
    if isinstance(view, Manifest):
        platform, image_config = _image_platform(target, view, want_config)
        return Inspection(
            reference=reference,
            digest=root.digest,
            media_type=root.media_type,
            size=view.size,
            raw=root.raw,
            platforms=[PlatformEntry(platform, root.digest, root.media_type, view.size)]
            if platform
            else [],
            artifact_type=view.artifact_type,
            config_media_type=view.config.media_type,
            layers=len(view.layers),
            subject=view.subject.digest if view.subject else None,
            config=image_config,
        )
    assert isinstance(view, Index)
    entries: list[PlatformEntry] = []
    blobs: dict[str, int] = {}
    config: bytes | None = None
    fetch = len(view.manifests) <= _MAX_CHILDREN_FETCHED
    for child in view.manifests:
        size = child.size
        if fetch:
            child_view = target.get_manifest(child.digest).parse(f"{reference}@{child.digest}")
            if isinstance(child_view, Manifest):
                size = child_view.size
                blobs.update({b.digest: b.size for b in child_view.blobs})
                if want_config and config is None and _is_default(child.platform):
                    config = target.get_blob_bytes(child_view.config.digest)
        entries.append(
            PlatformEntry(
                str(child.platform) if child.platform else None,
                child.digest,
                child.media_type,
                size,
            )
        )
    if want_config and config is None:
        raise InputError(
            f"{reference} is an index without a linux/amd64 image; name one of its "
            "manifests by digest to see its config",
            hint="digests: " + ", ".join(c.digest for c in view.manifests),
        )
    total = len(root.raw) + sum(c.size for c in view.manifests) + sum(blobs.values())
    return Inspection(
        reference=reference,
        digest=root.digest,
        media_type=root.media_type,
        size=total,
        raw=root.raw,
        platforms=entries,
        artifact_type=view.artifact_type,
        subject=view.subject.digest if view.subject else None,
        config=config,
    )


def _is_default(platform: object) -> bool:
    return platform is not None and str(platform) in ("linux/amd64", "linux/amd64/v1")


def inspect_reference(
    text: str,
    options: RegistryOptions | None = None,
    *,
    with_config: bool = False,
    with_tags: bool = True,
) -> Inspection:
    """Resolve ``text`` (any reference promoter accepts) and describe what it names."""
    reference = parse_reference(text)
    with Registries(options or RegistryOptions.from_environment()) as registries:
        target = open_target(reference, registries)
        try:
            root = target.resolve()
            described = _describe(target, str(reference), root, with_config)
            tags = target.list_tags() if with_tags else []
        finally:
            target.close()
    return Inspection(**{**described.__dict__, "tags": tags})
