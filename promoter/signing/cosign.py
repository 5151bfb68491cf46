"""Verifying cosign signatures (key-based, simple-signing payloads) found in image facts.

cosign stores a signature as an image manifest whose layers are simple-signing
payload blobs (``application/vnd.dev.cosign.simplesigning.v1+json``); each
layer's ``dev.cosignproject.cosign/signature`` annotation holds the base64
ASN.1 DER ECDSA signature over the payload bytes (SHA-256). The manifest is
found by the tag ``sha256-<hex>.sig`` next to the image, or as an OCI referrer.
The payload says which manifest digest it signs: ``critical.image
["docker-manifest-digest"]``; that must be the checked image's digest. The payload is
read with the one strict JSON reader: a duplicate key is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import Any

from promoter.config.inputfile import loads_strict
from promoter.structs import struct

__all__ = [
    "COSIGN_ARTIFACT_TYPE",
    "COSIGN_TYPE",
    "SIGNATURE_ANNOTATION",
    "SIMPLE_SIGNING",
    "SignatureCheck",
    "SignatureFacts",
    "SignatureLayer",
    "attestation_tag",
    "signature_tag",
    "verify_signatures",
]

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
COSIGN_TYPE = "cosign container image signature"
#: The artifact type cosign gives a signature stored as an OCI 1.1 referrer.
COSIGN_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"


def signature_tag(digest: str) -> str:
    """The tag cosign stores an image's signatures under: ``sha256-<hex>.sig``."""
    return digest.replace(":", "-") + ".sig"


def attestation_tag(digest: str) -> str:
    """The tag cosign stores an image's attestations under: ``sha256-<hex>.att``."""
    return digest.replace(":", "-") + ".att"


@struct(frozen=True)
class SignatureLayer:
    """One simple-signing layer of a signature manifest, as the image facts keep it: its
    media type and digest, the payload and the signature annotation (both base64)."""

    media_type: str | None
    digest: str | None
    payload: str
    signature: str


@struct(frozen=True)
class SignatureFacts:
    """A signature manifest (found by cosign's tag, or as a referrer) and its layers."""

    source: str
    layers: tuple[SignatureLayer, ...]


@struct(frozen=True)
class SignatureCheck:
    """The outcome of verifying one signature layer."""

    verified: bool
    reason: str
    source: str


def _lookup(mapping: object, key: str) -> object:
    """A key of a JSON object, case-insensitively (cosign writes Docker-manifest-digest);
    ``ValueError`` when two spellings of it are there (readers would differ on which)."""
    if not isinstance(mapping, dict):
        return None
    found = [value for name, value in mapping.items() if str(name).lower() == key]
    if len(found) > 1:
        raise ValueError(f"signed payload names {key!r} twice (in different cases)")
    return found[0] if found else None


def _check_layer(layer: SignatureLayer, digest: str, key: Any, source: str) -> SignatureCheck:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    def no(reason: str) -> SignatureCheck:
        return SignatureCheck(False, reason, source)

    if layer.media_type != SIMPLE_SIGNING:
        return no(f"layer type {layer.media_type!r} is not a simple-signing payload")
    try:
        payload = base64.b64decode(layer.payload, validate=True)
        signature = base64.b64decode(layer.signature, validate=True)
    except (binascii.Error, ValueError):
        return no("payload or signature is not valid base64")
    if not signature:
        return no(f"no {SIGNATURE_ANNOTATION} annotation")
    if "sha256:" + hashlib.sha256(payload).hexdigest() != layer.digest:
        return no("payload does not match its descriptor digest")
    try:
        key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return no("signature does not verify with the key (wrong key or tampered payload)")
    try:  # strict: a duplicate key could name two digests to two readers
        document = loads_strict(payload)
    except (ValueError, RecursionError) as error:
        return no(f"signed payload is not strict JSON: {str(error)[:200]}")
    try:
        critical = _lookup(document, "critical")
        kind = _lookup(critical, "type")
        signed = _lookup(_lookup(critical, "image"), "docker-manifest-digest")
    except ValueError as error:
        return no(str(error))
    if kind != COSIGN_TYPE:
        return no(f"signed payload is not a {COSIGN_TYPE!r}")
    if signed != digest:
        return no(f"signature is for {signed}, not this image ({digest})")
    return SignatureCheck(True, "signature verifies with the key", source)


def verify_signatures(
    signatures: Sequence[SignatureFacts], digest: str, key: object
) -> list[SignatureCheck]:
    """Check every signature layer of every signature manifest against ``key`` and ``digest``."""
    return [
        _check_layer(layer, digest, key, entry.source)
        for entry in signatures
        for layer in entry.layers
    ]
