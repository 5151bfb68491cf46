"""Dead Simple Signing Envelopes (DSSE v1): what in-toto attestations are signed in.

The signature is over the pre-authentication encoding of the payload type and
the payload, ``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, never over
the payload alone. The envelope is JSON: ``payloadType``, ``payload`` (base64)
and ``signatures`` (``keyid``, ``sig`` in base64). :class:`Envelope` holds it
decoded; :func:`parse_envelope` is its one reader (strict JSON: a duplicate key
is refused) and :meth:`Envelope.to_json`/:meth:`Envelope.to_bytes` its writers.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from promoter.config.inputfile import loads_strict
from promoter.jsontypes import JSONObject
from promoter.signing.keys import SigningKey, fingerprint
from promoter.structs import struct

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

__all__ = [
    "ENVELOPE_MEDIA_TYPE",
    "INTOTO_PAYLOAD_TYPE",
    "Envelope",
    "EnvelopeError",
    "EnvelopeSignature",
    "pae",
    "parse_envelope",
    "sign_envelope",
    "unsigned_envelope",
    "verify_envelope",
]

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"


class EnvelopeError(ValueError):
    """A document that is not a DSSE envelope; the message says why, ``part`` where:
    ``document``, ``payloadType``, ``payload`` or ``signatures``."""

    def __init__(self, message: str, part: str) -> None:
        super().__init__(message)
        self.part = part


@struct(frozen=True)
class EnvelopeSignature:
    """One signature of an envelope: the signer's key id and the signature bytes."""

    keyid: str
    sig: bytes


@struct(frozen=True)
class Envelope:
    """A DSSE envelope, decoded: the payload type, the payload bytes and the signatures."""

    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...] = ()

    def to_json(self) -> JSONObject:
        """The envelope as its JSON object (payload and signatures in base64)."""
        return {
            "payloadType": self.payload_type,
            "payload": _b64(self.payload),
            "signatures": [{"keyid": s.keyid, "sig": _b64(s.sig)} for s in self.signatures],
        }

    def to_bytes(self) -> bytes:
        """The envelope as the blob that is stored (compact JSON)."""
        return json.dumps(self.to_json(), separators=(",", ":")).encode("utf-8")

    def type_problem(self, expected: str = INTOTO_PAYLOAD_TYPE) -> str | None:
        """Why the envelope is not one of ``expected`` payload type, or None when it is.

        The type is signed with the payload (see :func:`pae`), but a valid signature over
        another type is still another kind of document: a reader accepts only its own."""
        if self.payload_type == expected:
            return None
        return f"the envelope's payloadType is {self.payload_type[:80]!r}, not {expected!r}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str, part: str) -> bytes:
    if not isinstance(value, str):
        raise EnvelopeError(f"the envelope's {what} is not base64", part)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError(f"the envelope's {what} is not base64", part) from None


def _signature(entry: object) -> EnvelopeSignature:
    if not isinstance(entry, Mapping):
        raise EnvelopeError("the envelope's signatures are not objects", "signatures")
    keyid = entry.get("keyid", "")
    if not isinstance(keyid, str):
        raise EnvelopeError("the envelope's signature keyid is not a string", "signatures")
    return EnvelopeSignature(keyid, _unb64(entry.get("sig"), "signature", "signatures"))


def parse_envelope(document: bytes | str | Mapping[str, object]) -> Envelope:
    """The envelope in ``document``: its stored bytes, read as strict JSON
    (:func:`promoter.config.inputfile.loads_strict`), or the JSON object already read that
    way (a facts document keeps envelopes as stored). ``EnvelopeError`` when it is not one:
    the payload type missing, the payload or a signature not base64, no list of signatures.
    """
    if isinstance(document, (bytes, str)):
        try:
            document = loads_strict(document)
        except (ValueError, UnicodeDecodeError) as error:
            what = f"the envelope is not strict JSON: {str(error)[:200]}"
            raise EnvelopeError(what, "document") from None
        except RecursionError:
            raise EnvelopeError("the envelope is nested too deeply", "document") from None
    if not isinstance(document, Mapping):
        raise EnvelopeError("the envelope is not a JSON object", "document")
    payload_type = document.get("payloadType")
    if not isinstance(payload_type, str):
        missing = f"the envelope's payloadType is missing, not {INTOTO_PAYLOAD_TYPE!r}"
        raise EnvelopeError(missing, "payloadType")
    payload = _unb64(document.get("payload"), "payload", "payload")
    signatures = document.get("signatures") or []
    if not isinstance(signatures, list):
        raise EnvelopeError("the envelope's signatures are not a list", "signatures")
    return Envelope(payload_type, payload, tuple(_signature(s) for s in signatures))


def pae(payload_type: str, payload: bytes) -> bytes:
    """The pre-authentication encoding that is signed."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign_envelope(
    payload: bytes, key: SigningKey, payload_type: str = INTOTO_PAYLOAD_TYPE
) -> Envelope:
    """An envelope of ``payload`` signed by ``key`` (its ``keyid`` is the key's fingerprint)."""
    signature = key.sign(pae(payload_type, payload))
    return Envelope(payload_type, payload, (EnvelopeSignature(key.fingerprint, signature),))


def unsigned_envelope(payload: bytes, payload_type: str = INTOTO_PAYLOAD_TYPE) -> Envelope:
    """An envelope with no signature (provenance attached where no key is configured)."""
    return Envelope(payload_type, payload)


def verify_envelope(
    envelope: Envelope,
    keys: Iterable[EllipticCurvePublicKey],
    *,
    payload_type: str = INTOTO_PAYLOAD_TYPE,
) -> tuple[bytes, str] | None:
    """The payload and the fingerprint of the first key that verifies a signature, or None;
    None as well when the envelope's payload type is not ``payload_type``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if envelope.type_problem(payload_type) is not None:
        return None
    signed = pae(envelope.payload_type, envelope.payload)
    for key in keys:
        for signature in envelope.signatures:
            try:
                key.verify(signature.sig, signed, ec.ECDSA(hashes.SHA256()))
            except (InvalidSignature, ValueError):
                continue
            return envelope.payload, fingerprint(key)
    return None
