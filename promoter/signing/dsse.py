"""Dead Simple Signing Envelopes (DSSE v1): what in-toto attestations are signed in.

The signature is over the pre-authentication encoding of the payload type and
the payload, ``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, never over
the payload alone. The envelope is JSON: ``payloadType``, ``payload`` (base64)
and ``signatures`` (``keyid``, ``sig`` in base64).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from promoter.signing.keys import SigningKey, fingerprint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

__all__ = [
    "ENVELOPE_MEDIA_TYPE",
    "INTOTO_PAYLOAD_TYPE",
    "envelope_bytes",
    "pae",
    "payload_type_problem",
    "sign_envelope",
    "unsigned_envelope",
    "verify_envelope",
]

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """The pre-authentication encoding that is signed."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign_envelope(
    payload: bytes, key: SigningKey, payload_type: str = INTOTO_PAYLOAD_TYPE
) -> dict[str, Any]:
    """An envelope of ``payload`` signed by ``key`` (its ``keyid`` is the key's fingerprint)."""
    signature = key.sign(pae(payload_type, payload))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": key.fingerprint, "sig": base64.b64encode(signature).decode("ascii")}
        ],
    }


def unsigned_envelope(payload: bytes, payload_type: str = INTOTO_PAYLOAD_TYPE) -> dict[str, Any]:
    """An envelope with no signature (provenance attached where no key is configured)."""
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [],
    }


def payload_type_problem(
    envelope: Mapping[str, Any], expected: str = INTOTO_PAYLOAD_TYPE
) -> str | None:
    """Why ``envelope`` is not one of ``expected`` payload type, or None when it is.

    The type is signed with the payload (see :func:`pae`), but a valid signature over
    another type is still another kind of document: a reader accepts only its own."""
    found = envelope.get("payloadType")
    if found == expected:
        return None
    shown = repr(found[:80]) if isinstance(found, str) else "missing"
    return f"the envelope's payloadType is {shown}, not {expected!r}"


def verify_envelope(
    envelope: Mapping[str, Any],
    keys: Iterable[EllipticCurvePublicKey],
    *,
    payload_type: str = INTOTO_PAYLOAD_TYPE,
) -> tuple[bytes, str] | None:
    """The payload and the fingerprint of the first key that verifies a signature, or None;
    None as well when the envelope's payload type is not ``payload_type``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if payload_type_problem(envelope, payload_type) is not None:
        return None
    try:
        payload = base64.b64decode(str(envelope["payload"]), validate=True)
        signed = pae(str(envelope["payloadType"]), payload)
        signatures = [base64.b64decode(str(s["sig"])) for s in envelope.get("signatures") or []]
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    for key in keys:
        for signature in signatures:
            try:
                key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
            except (InvalidSignature, ValueError):
                continue
            return payload, fingerprint(key)
    return None


def envelope_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The envelope as the blob that is stored (compact JSON)."""
    return json.dumps(envelope, separators=(",", ":")).encode("utf-8")
