"""Parsed views of manifests and indexes that keep the original bytes.

A manifest is stored and copied byte for byte: ``raw`` is what the registry
sent, and its digest is the digest of ``raw``. The parsed fields are a read-only
view for walking the graph; nothing here ever re-serializes a manifest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from promoter.errors import InputError, RegistryError
from promoter.oci import mediatypes as mt
from promoter.oci.descriptor import Descriptor
from promoter.oci.digest import compute_digest
from promoter.structs import field, struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "MAX_MANIFEST_SIZE",
    "Index",
    "InvalidManifestError",
    "Manifest",
    "UnsupportedManifestError",
    "parse_manifest",
    "sniff_media_type",
]

#: Manifests larger than this are refused (distribution's own limit is 4 MiB).
MAX_MANIFEST_SIZE = 4 * 1024 * 1024


class InvalidManifestError(RegistryError):
    """A manifest that is not valid JSON or lacks required fields."""


class UnsupportedManifestError(InputError):
    """A manifest format promoter does not handle (Docker schema 1, unknown types)."""


class _StoredDocument:
    """What a manifest and an index share: their exact bytes, and views of them."""

    raw: bytes
    media_type: str
    digest: str
    artifact_type: str | None

    @property
    def descriptor(self) -> Descriptor:
        """A descriptor pointing at this manifest or index."""
        return Descriptor(
            self.media_type, self.digest, len(self.raw), artifact_type=self.artifact_type
        )

    @property
    def json(self) -> dict[str, object]:
        """The parsed document (a fresh copy)."""
        return dict(json.loads(self.raw))


@struct(frozen=True)
class Manifest(_StoredDocument):
    """An image or artifact manifest (OCI or Docker v2 schema 2)."""

    raw: bytes
    media_type: str
    digest: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """The config, then the layers: every blob this manifest needs."""
        return (self.config, *self.layers)

    @property
    def size(self) -> int:
        """Manifest + config + layers, in bytes."""
        return len(self.raw) + sum(blob.size for blob in self.blobs)


@struct(frozen=True)
class Index(_StoredDocument):
    """An OCI index or a Docker manifest list."""

    raw: bytes
    media_type: str
    digest: str
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)


def sniff_media_type(document: Mapping[str, object], content_type: str | None = None) -> str:
    """The media type of a manifest: its ``mediaType`` field, else the header, else its shape."""
    declared = document.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if document.get("schemaVersion") == 1:
        return (
            mt.DOCKER_MANIFEST_SCHEMA1_SIGNED
            if "signatures" in document
            else (mt.DOCKER_MANIFEST_SCHEMA1)
        )
    if content_type:
        bare = content_type.split(";", 1)[0].strip()
        if bare and bare not in ("application/json", "application/octet-stream", "text/plain"):
            return bare
    if "manifests" in document:
        return mt.OCI_INDEX
    if "config" in document or "layers" in document:
        return mt.OCI_MANIFEST
    return content_type.split(";", 1)[0].strip() if content_type else "application/json"


def _descriptor(data: object, where: str) -> Descriptor:
    if not isinstance(data, Mapping):
        raise InvalidManifestError(f"manifest field {where} is not an object")
    try:
        return Descriptor.from_dict(data)
    except InputError as error:
        raise InvalidManifestError(f"manifest field {where}: {error.message}") from None


def _load_document(raw: bytes, reference: str | None) -> dict[str, Any]:
    """``raw`` as a JSON object, refused when over the size limit, not JSON or not an object."""
    where = f" of {reference}" if reference else ""
    if len(raw) > MAX_MANIFEST_SIZE:
        raise InvalidManifestError(
            f"manifest{where} is {len(raw)} bytes, over the {MAX_MANIFEST_SIZE}-byte limit",
            reference=reference,
        )
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidManifestError(
            f"manifest{where} is not valid JSON: {error}", reference=reference
        ) from None
    if not isinstance(document, dict):
        raise InvalidManifestError(f"manifest{where} is not a JSON object", reference=reference)
    return document


def parse_manifest(
    raw: bytes,
    content_type: str | None = None,
    *,
    digest: str | None = None,
    reference: str | None = None,
) -> Manifest | Index:
    """Parse ``raw`` into a view; refuse schema 1 and unknown types with a clear message.

    ``digest`` is the digest of ``raw`` when the caller already knows it (it
    must have been verified); otherwise it is computed (sha256).
    """
    where = f" of {reference}" if reference else ""
    document = _load_document(raw, reference)
    media_type = sniff_media_type(document, content_type)
    if mt.is_schema1(media_type) or document.get("schemaVersion") == 1:
        raise UnsupportedManifestError(
            f"{reference or 'the image'} uses a Docker v2 schema 1 manifest, which promoter "
            "does not support",
            hint="re-push the image with a current Docker or buildkit (schema 2 / OCI)",
        )
    digest = digest or compute_digest(raw)
    subject = document.get("subject")
    common: dict[str, Any] = {
        "raw": raw,
        "media_type": media_type,
        "digest": digest,
        "subject": _descriptor(subject, "subject") if subject is not None else None,
        "artifact_type": document.get("artifactType"),
        "annotations": dict(document.get("annotations") or {}),
    }
    if mt.is_index(media_type) or (
        "manifests" in document and "layers" not in document and "config" not in document
    ):
        children = document.get("manifests") or []
        if not isinstance(children, list):
            raise InvalidManifestError(f"index{where}: manifests is not a list")
        return Index(
            manifests=tuple(_descriptor(c, f"manifests[{i}]") for i, c in enumerate(children)),
            **common,
        )
    if mt.is_manifest(media_type) or "config" in document:
        if "config" not in document:
            raise InvalidManifestError(f"manifest{where} has no config", reference=reference)
        layers = document.get("layers") or []
        if not isinstance(layers, list):
            raise InvalidManifestError(f"manifest{where}: layers is not a list")
        return Manifest(
            config=_descriptor(document["config"], "config"),
            layers=tuple(_descriptor(layer, f"layers[{i}]") for i, layer in enumerate(layers)),
            **common,
        )
    raise UnsupportedManifestError(
        f"{reference or 'the manifest'} has unsupported media type {media_type!r}"
    )
