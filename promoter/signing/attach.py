"""Attaching signed artifacts to an image digest in a registry repository.

Each artifact is written in two forms, so that cosign and referrer-aware tools
both find it:

- **cosign's tag form**: an image manifest at the tag ``sha256-<hex>.sig``
  (signatures: layers of ``application/vnd.dev.cosign.simplesigning.v1+json``
  whose ``dev.cosignproject.cosign/signature`` annotation holds the base64
  signature) or ``sha256-<hex>.att`` (attestations: layers of
  ``application/vnd.dsse.envelope.v1+json``, annotation ``predicateType``).
  A new layer is *appended* to the manifest already at that tag: another
  signer's layers are kept, and a layer already there (same payload and same
  signature) is not added twice. The manifest's config is an image config
  whose ``rootfs.diff_ids`` list the layers, as cosign writes it.
- **an OCI 1.1 referrer**: an image manifest with ``artifactType``, the empty
  config, the one layer, and ``subject`` = the image. Where the registry has no
  referrers API, the ``sha256-<hex>`` tag-schema index lists it.

Registries offer no compare-and-swap on tags, so after the tag manifest is
written it is read back; if a concurrent writer replaced it, the merge runs
again (a bounded number of times).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from promoter.errors import OperationError, RegistryError
from promoter.oci import mediatypes as mt
from promoter.oci.descriptor import Descriptor
from promoter.oci.digest import compute_digest
from promoter.oci.reference import Reference
from promoter.registry.target import RepositoryTarget
from promoter.signing.cosign import (
    COSIGN_ARTIFACT_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    SignatureFacts,
    SignatureLayer,
    attestation_tag,
    signature_tag,
    verify_signatures,
)
from promoter.signing.dsse import ENVELOPE_MEDIA_TYPE, Envelope
from promoter.structs import struct
from promoter.transfer.endpoints import TargetEndpoint
from promoter.transfer.referrers import add_to_fallback_index

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

    from promoter.registry.remote.client import RegistryClient

__all__ = [
    "ATTESTATION_ARTIFACT_TYPE",
    "PREDICATE_TYPE_ANNOTATION",
    "Attached",
    "attach_attestation",
    "attach_signature",
    "signed_by",
]

PREDICATE_TYPE_ANNOTATION = "predicateType"
#: The artifact type of an attestation referrer (its one layer is the DSSE envelope).
ATTESTATION_ARTIFACT_TYPE = ENVELOPE_MEDIA_TYPE
_EMPTY_DIGEST = compute_digest(mt.EMPTY_JSON)
_ATTEMPTS = 5
_MAX_PAYLOAD = 1024 * 1024
_CREATED = "0001-01-01T00:00:00Z"


@struct(frozen=True)
class Attached:
    """What one attachment wrote: the manifest now at cosign's tag, the referrer
    manifest, and whether the layer was new at the tag (False: it was there)."""

    tag: str
    tag_manifest: str
    referrer: str
    layer: str
    new: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "tag": self.tag,
            "tagManifest": self.tag_manifest,
            "referrer": self.referrer,
            "layer": self.layer,
            "new": self.new,
        }


def _dumps(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _subject(client: RegistryClient, repository: str, subject: Descriptor | str) -> Descriptor:
    if isinstance(subject, Descriptor):
        return subject
    found = client.head_manifest(Reference(client.host, repository, digest=subject))
    if found is None:
        raise OperationError(f"{client.host}/{repository}@{subject}: no such manifest to attach to")
    return found


def attach_signature(
    client: RegistryClient,
    repository: str,
    subject: Descriptor | str,
    payload: bytes,
    signature_b64: str,
    *,
    annotations: Mapping[str, str] | None = None,
) -> Attached:
    """Attach a cosign signature (``payload`` signed, ``signature_b64`` its base64 ASN.1
    signature) to ``subject`` (a descriptor, or a digest to look up) in ``repository``."""
    layer_annotations = {SIGNATURE_ANNOTATION: signature_b64, **(annotations or {})}
    return _attach(
        client,
        repository,
        _subject(client, repository, subject),
        _Layer(SIMPLE_SIGNING, payload, layer_annotations),
        signature_tag,
        COSIGN_ARTIFACT_TYPE,
    )


def attach_attestation(
    client: RegistryClient,
    repository: str,
    subject: Descriptor | str,
    envelope: Envelope,
    predicate_type: str,
) -> Attached:
    """Attach a DSSE envelope about ``subject`` as cosign's ``.att`` layer (its compact
    JSON) and as a referrer; ``predicate_type`` is the statement's predicate type."""
    layer_annotations = {PREDICATE_TYPE_ANNOTATION: predicate_type, SIGNATURE_ANNOTATION: ""}
    return _attach(
        client,
        repository,
        _subject(client, repository, subject),
        _Layer(ENVELOPE_MEDIA_TYPE, envelope.to_bytes(), layer_annotations),
        attestation_tag,
        ATTESTATION_ARTIFACT_TYPE,
    )


@struct(frozen=True)
class _Layer:
    media_type: str
    data: bytes
    annotations: Mapping[str, str]

    @property
    def descriptor(self) -> dict[str, Any]:
        return {
            "mediaType": self.media_type,
            "digest": compute_digest(self.data),
            "size": len(self.data),
            "annotations": dict(self.annotations),
        }


def _attach(
    client: RegistryClient,
    repository: str,
    subject: Descriptor,
    layer: _Layer,
    tag_of: Any,
    artifact_type: str,
) -> Attached:
    entry = layer.descriptor
    if not client.blob_exists(repository, entry["digest"]):
        client.upload_blob(repository, entry["digest"], len(layer.data), layer.data)
    tag = tag_of(subject.digest)
    tag_manifest, new = _append_at_tag(client, repository, tag, entry)
    referrer = _put_referrer(client, repository, subject, entry, artifact_type)
    return Attached(tag, tag_manifest, referrer, entry["digest"], new)


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.get("digest") == b.get("digest") and (a.get("annotations") or {}).get(
        SIGNATURE_ANNOTATION
    ) == (b.get("annotations") or {}).get(SIGNATURE_ANNOTATION)


def _layers_at(client: RegistryClient, repository: str, tag: str) -> list[dict[str, Any]]:
    """The layers of the manifest at ``tag`` ([] when there is none)."""
    try:
        fetched = client.get_manifest(Reference(client.host, repository, tag=tag))
    except RegistryError as error:
        if error.status == 404:
            return []
        raise
    try:
        document = json.loads(fetched.raw)
    except ValueError:
        raise OperationError(
            f"{client.host}/{repository}:{tag}: the manifest there is not JSON",
            hint="delete that tag, or attach elsewhere",
        ) from None
    layers = document.get("layers") if isinstance(document, dict) else None
    return [dict(layer) for layer in layers or [] if isinstance(layer, dict)]


def _tag_manifest(
    client: RegistryClient, repository: str, layers: list[dict[str, object]]
) -> bytes:
    """cosign's manifest over ``layers``: an image config listing them, then the layers."""
    config = _dumps(
        {
            "architecture": "",
            "created": _CREATED,
            "history": [{"created": _CREATED} for _ in layers],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
            "config": {},
        }
    )
    config_digest = compute_digest(config)
    if not client.blob_exists(repository, config_digest):
        client.upload_blob(repository, config_digest, len(config), config)
    return _dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "size": len(config), "digest": config_digest},
            "layers": layers,
        }
    )


def _append_at_tag(
    client: RegistryClient, repository: str, tag: str, entry: dict[str, object]
) -> tuple[str, bool]:
    """Append ``entry`` to the manifest at ``tag``; (that manifest's digest, whether new)."""
    wrote = False
    here = Reference(client.host, repository, tag=tag)
    for _ in range(_ATTEMPTS):
        layers = _layers_at(client, repository, tag)
        if any(_same(layer, entry) for layer in layers):
            found = client.head_manifest(here)
            return (found.digest if found else ""), wrote
        raw = _tag_manifest(client, repository, [*layers, entry])
        written = client.put_manifest(repository, raw, mt.OCI_MANIFEST, tag)
        wrote = True
        found = client.head_manifest(here)
        if found is not None and found.digest == written:
            return written, True
        # a concurrent writer replaced it: merge again
    raise OperationError(
        f"{client.host}/{repository}:{tag}: could not append to cosign's manifest "
        "(concurrent writers kept replacing it)",
        hint="run again; a layer already there is not added twice",
    )


def _put_empty(client: RegistryClient, repository: str) -> None:
    if not client.blob_exists(repository, _EMPTY_DIGEST):
        client.upload_blob(repository, _EMPTY_DIGEST, len(mt.EMPTY_JSON), mt.EMPTY_JSON)


def _put_referrer(
    client: RegistryClient,
    repository: str,
    subject: Descriptor,
    entry: dict[str, object],
    artifact_type: str,
) -> str:
    """The referrer manifest of ``entry`` (same bytes for the same layer: idempotent)."""
    _put_empty(client, repository)
    raw = _dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": mt.OCI_EMPTY, "digest": _EMPTY_DIGEST, "size": 2},
            "layers": [entry],
            "subject": {
                "mediaType": subject.media_type,
                "digest": subject.digest,
                "size": subject.size,
            },
        }
    )
    digest = client.put_manifest(repository, raw, mt.OCI_MANIFEST)
    descriptor = Descriptor(mt.OCI_MANIFEST, digest, len(raw), artifact_type=artifact_type)
    _list_referrer(client, repository, subject.digest, descriptor)
    return digest


def _list_referrer(
    client: RegistryClient, repository: str, subject: str, descriptor: Descriptor
) -> None:
    """Where the registry has no referrers API, list the referrer in the tag-schema index."""
    endpoint = TargetEndpoint(RepositoryTarget(client, Reference(client.host, repository)))
    if not endpoint.indexes_referrers():
        add_to_fallback_index(endpoint, subject, descriptor)


def signed_by(
    client: RegistryClient,
    repository: str,
    subject_digest: str,
    keys: Iterable[EllipticCurvePublicKey],
) -> bool:
    """Whether cosign's ``.sig`` manifest of ``subject_digest`` holds a signature of it
    (a simple-signing payload naming that digest) that one of ``keys`` verifies, as the
    ``signed`` rule judges one (``promoter.signing.cosign``)."""
    layers = []
    for layer in _layers_at(client, repository, signature_tag(subject_digest)):
        signature = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        if layer.get("mediaType") != SIMPLE_SIGNING or not signature:
            continue
        payload = client.get_blob_bytes(repository, str(layer["digest"]), max_size=_MAX_PAYLOAD)
        layers.append(
            SignatureLayer(
                SIMPLE_SIGNING,
                str(layer.get("digest")),
                base64.b64encode(payload).decode("ascii"),
                str(signature),
            )
        )
    entry = SignatureFacts("tag", tuple(layers))
    return any(
        check.verified for key in keys for check in verify_signatures([entry], subject_digest, key)
    )
