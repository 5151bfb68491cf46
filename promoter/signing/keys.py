"""ECDSA P-256 keys: PKCS#8 PEM, or cosign's encrypted format, and PKIX public keys.

cosign writes a private key as a PEM block ``ENCRYPTED SIGSTORE PRIVATE KEY``
(``ENCRYPTED COSIGN PRIVATE KEY`` before v2) whose body is JSON:

    {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": B64},
     "cipher": {"name": "nacl/secretbox", "nonce": B64},
     "ciphertext": B64}

The key is scrypt(password, salt) (32 bytes); the ciphertext is NaCl's
secretbox (XSalsa20-Poly1305) of the PKCS#8 DER private key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import TYPE_CHECKING, Any

from promoter.errors import InputError
from promoter.redaction import register_secret
from promoter.structs import struct

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )

__all__ = [
    "COSIGN_PEM_TYPE",
    "SigningKey",
    "encrypt_private_key",
    "fingerprint",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
    "public_pem",
]

#: The PEM type cosign (v2) writes; v1's ``ENCRYPTED COSIGN PRIVATE KEY`` is read too.
COSIGN_PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY"
_ENCRYPTED_TYPES = (COSIGN_PEM_TYPE, "ENCRYPTED COSIGN PRIVATE KEY")
#: cosign's scrypt parameters.
_SCRYPT = {"N": 32768, "r": 8, "p": 1}
#: At most this much scrypt memory for a key file's parameters (N * r * 128 bytes).
_SCRYPT_MEMORY = 256 * 1024 * 1024


@struct(frozen=True)
class SigningKey:
    """A private key ready to sign, and its public key's fingerprint (``sha256:<hex>``)."""

    private: EllipticCurvePrivateKey
    fingerprint: str

    def sign(self, data: bytes) -> bytes:
        """An ASN.1 DER ECDSA signature over SHA-256 of ``data``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))

    @property
    def public_pem(self) -> bytes:
        """The public key as PKIX PEM."""
        return public_pem(self.private.public_key())


def public_pem(key: EllipticCurvePublicKey) -> bytes:
    """``-----BEGIN PUBLIC KEY-----`` (PKIX), as cosign writes ``cosign.pub``."""
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: EllipticCurvePublicKey) -> str:
    """``sha256:<hex>`` of the public key's DER SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives import serialization

    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _pem_blocks(text: str) -> list[tuple[str, bytes]]:
    blocks = []
    lines = iter(text.splitlines())
    for line in lines:
        line = line.strip()
        if line.startswith("-----BEGIN ") and line.endswith("-----"):
            kind = line[len("-----BEGIN ") : -5]
            body = []
            for inner in lines:
                if inner.strip() == f"-----END {kind}-----":
                    break
                body.append(inner.strip())
            try:
                blocks.append((kind, base64.b64decode("".join(body), validate=True)))
            except (binascii.Error, ValueError):
                raise InputError(f"the {kind} PEM block is not base64") from None
    return blocks


def _secretbox_key(password: bytes, salt: bytes, params: dict[str, Any]) -> bytes:
    n, r, p = (params.get(k) for k in ("N", "r", "p"))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (n, r, p)):
        raise InputError("the key's scrypt parameters are not positive integers")
    assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)
    if n * r * 128 > _SCRYPT_MEMORY or p > 16 or n & (n - 1):
        raise InputError("the key's scrypt parameters are out of range")
    return hashlib.scrypt(
        password, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MEMORY + 1024 * 1024, dklen=32
    )


def _decrypt(document: bytes, password: str, source: str) -> bytes:
    try:
        data = json.loads(document)
        kdf, cipher = data["kdf"], data["cipher"]
        if kdf.get("name") != "scrypt" or cipher.get("name") != "nacl/secretbox":
            raise InputError(f"{source}: an encrypted key of an unknown kind ({kdf.get('name')})")
        salt = base64.b64decode(kdf["salt"])
        nonce = base64.b64decode(cipher["nonce"])
        ciphertext = base64.b64decode(data["ciphertext"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise InputError(f"{source}: not a cosign key (its encrypted body is malformed)") from None
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    key = _secretbox_key(password.encode("utf-8"), salt, kdf.get("params") or {})
    try:
        return SecretBox(key).decrypt(ciphertext, nonce)
    except (CryptoError, ValueError):
        raise InputError(
            f"{source}: wrong password for the signing key",
            hint="set the key's password in the variable the pipeline names (COSIGN_PASSWORD)",
        ) from None


def load_private_key(text: str, password: str | None, *, source: str) -> SigningKey:
    """A signing key from PEM text: PKCS#8 (``PRIVATE KEY``), SEC1 (``EC PRIVATE KEY``) or
    cosign's encrypted format. ``source`` names where it came from, for errors."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    register_secret(text.strip())
    register_secret(password)
    blocks = _pem_blocks(text)
    if not blocks:
        raise InputError(f"{source}: no PEM private key in it")
    kind, der = blocks[0]
    if kind in _ENCRYPTED_TYPES:
        der = _decrypt(der, password or "", source)
    elif kind not in ("PRIVATE KEY", "EC PRIVATE KEY"):
        raise InputError(f"{source}: a {kind} PEM block is not a private key")
    try:  # PKCS#8 and SEC1 DER alike
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        raise InputError(f"{source}: the private key cannot be read") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise InputError(f"{source}: not an ECDSA P-256 key (cosign's kind)")
    return SigningKey(key, fingerprint(key.public_key()))


def load_public_key(text: str | bytes, *, source: str) -> EllipticCurvePublicKey:
    """A PKIX PEM public key (``cosign.pub``); ``InputError`` naming ``source`` (the file,
    or the environment variable, it came from) when it is not one, or not ECDSA."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    raw = text.encode() if isinstance(text, str) else text
    try:
        key = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError):
        raise InputError(f"{source}: not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InputError(f"{source}: not an ECDSA public key (cosign keys are ECDSA P-256)")
    return key


def encrypt_private_key(key: EllipticCurvePrivateKey, password: str) -> bytes:
    """``key`` in cosign's encrypted PEM format, under ``password``."""
    from cryptography.hazmat.primitives import serialization
    from nacl.secret import SecretBox

    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt, nonce = os.urandom(32), os.urandom(SecretBox.NONCE_SIZE)
    box = SecretBox(_secretbox_key(password.encode("utf-8"), salt, _SCRYPT))
    document = {
        "kdf": {"name": "scrypt", "params": _SCRYPT, "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(box.encrypt(der, nonce).ciphertext).decode(),
    }
    body = base64.encodebytes(json.dumps(document).encode()).decode()
    pem = f"-----BEGIN {COSIGN_PEM_TYPE}-----\n{body}-----END {COSIGN_PEM_TYPE}-----\n"
    register_secret(pem.strip())
    return pem.encode()


def generate_key_pair(password: str) -> tuple[bytes, bytes]:
    """A new P-256 pair: (cosign's encrypted private PEM, the public PEM)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    register_secret(password)
    key = ec.generate_private_key(ec.SECP256R1())
    return encrypt_private_key(key, password), public_pem(key.public_key())
