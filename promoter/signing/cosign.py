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
from dataclasses import dataclass
from typing import Any

from promoter.config.inputfile import loads_strict

__all__ = [
    "COSIGN_ARTIFACT_TYPE",
    "COSIGN_TYPE",
    "SIGNATURE_ANNOTATION",
    "SIMPLE_SIGNING",
    "SignatureCheck",
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


@dataclass(frozen=True)
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


def _check_layer(layer: dict[str, Any], digest: str, key: Any, source: str) -> SignatureCheck:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    def no(reason: str) -> SignatureCheck:
        return SignatureCheck(False, reason, source)

    if layer.get("mediaType") != SIMPLE_SIGNING:
        return no(f"layer type {layer.get('mediaType')!r} is not a simple-signing payload")
    try:
        payload = base64.b64decode(str(layer.get("payload") or ""), validate=True)
        signature = base64.b64decode(str(layer.get("signature") or ""), validate=True)
    except (binascii.Error, ValueError):
        return no("payload or signature is not valid base64")
    if not signature:
        return no(f"no {SIGNATURE_ANNOTATION} annotation")
    if "sha256:" + hashlib.sha256(payload).hexdigest() != layer.get("digest"):
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
    signatures: Sequence[object], digest: str, key: object
) -> list[SignatureCheck]:
    """Check every signature layer of every signature manifest against ``key`` and ``digest``."""
    checks = []
    for entry in signatures:
        if not isinstance(entry, dict):
            continue
        source = str(entry.get("source") or "unknown")
        for layer in entry.get("layers") or []:
            if isinstance(layer, dict):
                checks.append(_check_layer(layer, digest, key, source))
    return checks
