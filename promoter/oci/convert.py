"""Docker v2 schema 2 media types to OCI ones, as skopeo converts when it writes a layout.

An OCI image layout is read by skopeo (``oci:DIR:TAG``) and umoci only with OCI media
types: a Docker manifest in ``index.json`` is refused by both. The conversion changes
media types only, never a blob: the config and layers keep their bytes and digests,
so only the manifests (and an index, whose children's digests change) get new digests.

- manifest ``application/vnd.docker.distribution.manifest.v2+json`` ->
  ``application/vnd.oci.image.manifest.v1+json``;
- manifest list -> ``application/vnd.oci.image.index.v1+json``;
- config ``application/vnd.docker.container.image.v1+json`` ->
  ``application/vnd.oci.image.config.v1+json``;
- layers: ``rootfs.diff.tar.gzip`` -> ``layer.v1.tar+gzip``, ``rootfs.diff.tar`` ->
  ``layer.v1.tar``, and the foreign ones to the nondistributable OCI layer types.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from promoter.oci import mediatypes as mt
from promoter.structs import struct

__all__ = ["DOCKER_TO_OCI", "ChildDigest", "is_docker_media_type", "to_oci_media_types"]

#: Every Docker media type a manifest can name, and its OCI counterpart.
DOCKER_TO_OCI: Mapping[str, str] = {
    mt.DOCKER_MANIFEST: mt.OCI_MANIFEST,
    mt.DOCKER_MANIFEST_LIST: mt.OCI_INDEX,
    mt.DOCKER_CONFIG: mt.OCI_CONFIG,
    mt.DOCKER_LAYER_GZIP: mt.OCI_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar": mt.OCI_LAYER,
    mt.DOCKER_FOREIGN_LAYER: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar": (
        "application/vnd.oci.image.layer.nondistributable.v1.tar"
    ),
}


def is_docker_media_type(media_type: str | None) -> bool:
    """A Docker v2 media type that has an OCI counterpart."""
    return media_type in DOCKER_TO_OCI


@struct(frozen=True)
class ChildDigest:
    """What an index's child became: its new digest, size and media type."""

    digest: str
    size: int
    media_type: str


def _map_descriptor(descriptor: object) -> bool:
    if isinstance(descriptor, dict) and is_docker_media_type(descriptor.get("mediaType")):
        descriptor["mediaType"] = DOCKER_TO_OCI[descriptor["mediaType"]]
        return True
    return False


def _map_child(descriptor: object, children: Mapping[str, ChildDigest]) -> bool:
    if not isinstance(descriptor, dict):
        return False
    child = children.get(str(descriptor.get("digest")))
    changed = _map_descriptor(descriptor)
    if child is None:
        return changed
    if (descriptor.get("digest"), descriptor.get("size")) == (child.digest, child.size):
        return changed
    descriptor.update(digest=child.digest, size=child.size, mediaType=child.media_type)
    return True


def to_oci_media_types(
    raw: bytes, media_type: str, children: Mapping[str, ChildDigest] | None = None
) -> tuple[bytes, str] | None:
    """``raw`` with OCI media types (and an index's children as ``children`` maps them,
    by their old digest); None when nothing changes (the bytes stay as they are)."""
    document = json.loads(raw)
    if not isinstance(document, dict):
        return None
    changed = False
    if is_docker_media_type(media_type) or is_docker_media_type(document.get("mediaType")):
        media_type = DOCKER_TO_OCI.get(media_type, media_type)
        document["mediaType"] = DOCKER_TO_OCI.get(str(document.get("mediaType")), media_type)
        changed = True
    if mt.is_index(media_type):
        for entry in document.get("manifests") or []:
            changed = _map_child(entry, children or {}) or changed
    else:
        changed = _map_descriptor(document.get("config")) or changed
        for layer in document.get("layers") or []:
            changed = _map_descriptor(layer) or changed
    if not changed:
        return None
    return json.dumps(document, separators=(",", ":")).encode(), media_type
