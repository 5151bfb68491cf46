"""Keys in cosign's format and DSSE envelopes, checked by an independent implementation."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from promoter.errors import InputError
from promoter.redaction import redact
from promoter.signing.dsse import (
    EnvelopeError,
    pae,
    parse_envelope,
    sign_envelope,
    unsigned_envelope,
    verify_envelope,
)
from promoter.signing.keys import (
    COSIGN_PEM_TYPE,
    generate_key_pair,
    load_private_key,
    load_public_key,
)
from promoter.signing.statement import (
    BuildProvenance,
    Dependency,
    provenance_statement,
    statement_bytes,
)
from promoter.structs import replace


def test_a_generated_pair_round_trips_and_signs() -> None:
    private_pem, public_pem = generate_key_pair("correct horse")
    text = private_pem.decode()
    assert text.startswith(f"-----BEGIN {COSIGN_PEM_TYPE}-----\n")
    body = json.loads(base64.b64decode("".join(text.splitlines()[1:-1])))
    assert body["kdf"]["name"] == "scrypt"
    assert body["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert len(base64.b64decode(body["kdf"]["salt"])) == 32
    assert body["cipher"]["name"] == "nacl/secretbox"
    assert len(base64.b64decode(body["cipher"]["nonce"])) == 24
    key = load_private_key(text, "correct horse", source="cosign.key")
    public = load_public_key(public_pem, source="cosign.pub")
    assert key.public_pem == public_pem
    envelope = sign_envelope(b'{"hello": 1}', key)
    assert verify_envelope(envelope, [public]) == (b'{"hello": 1}', key.fingerprint)


def test_a_wrong_password_is_bad_input() -> None:
    private_pem, _ = generate_key_pair("right")
    with pytest.raises(InputError, match=r"cosign\.key: wrong password for the signing key"):
        load_private_key(private_pem.decode(), "wrong", source="cosign.key")


def test_plain_pkcs8_and_sec1_keys_load() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        loaded = load_private_key(pem.decode(), None, source="key.pem")
        assert loaded.private.private_numbers() == key.private_numbers()


def test_other_keys_are_refused() -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(InputError, match="not an ECDSA P-256 key"):
        load_private_key(pem.decode(), None, source="key.pem")
    with pytest.raises(InputError, match="no PEM private key"):
        load_private_key("nothing here", None, source="key.pem")


def test_a_public_key_that_is_not_ecdsa_pem_is_refused_naming_its_source() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(InputError, match=r"^keys/other\.pub: not an ECDSA public key"):
        load_public_key(pem, source="keys/other.pub")
    with pytest.raises(InputError, match=r"^COSIGN_PUBLIC_KEY: not a PEM public key$"):
        load_public_key(b"garbage", source="COSIGN_PUBLIC_KEY")


def test_key_material_and_password_are_secrets() -> None:
    private_pem, _ = generate_key_pair("a-password-to-hide")
    load_private_key(private_pem.decode(), "a-password-to-hide", source="k")
    shown = redact(f"{private_pem.decode()} / a-password-to-hide")
    assert "a-password-to-hide" not in shown
    assert private_pem.decode().strip() not in shown


def test_pae_is_the_dsse_encoding() -> None:
    assert pae("application/x", b"hi") == b"DSSEv1 13 application/x 2 hi"


def _statement() -> dict[str, object]:
    return provenance_statement(
        BuildProvenance(
            subjects=[("registry.example/web", "sha256:" + "a" * 64)],
            parameters={"image": "web", "buildArgs": {"VERSION": "1.2.3"}},
            dependencies=[Dependency("git+https://github.com/acme/web", {"gitCommit": "b" * 40})],
            builder_id="https://github.com/acme/web/.github/workflows/images.yml@refs/tags/v1",
        )
    )


def test_the_envelope_verifies_with_securesystemslib() -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    private_pem, public_pem = generate_key_pair("pw")
    key = load_private_key(private_pem.decode(), "pw", source="k")
    payload = statement_bytes(_statement())
    envelope = sign_envelope(payload, key).to_json()
    public = load_public_key(public_pem, source="pub")
    independent = SSlibKey.from_crypto(public, keyid=key.fingerprint)
    accepted = Envelope.from_dict(dict(envelope)).verify([independent], 1)
    assert list(accepted) == [key.fingerprint]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["subject"][0]["digest"] == {"sha256": "a" * 64}
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"


def test_a_tampered_payload_or_another_key_fails() -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import SSlibKey

    private_pem, public_pem = generate_key_pair("pw")
    key = load_private_key(private_pem.decode(), "pw", source="k")
    envelope = sign_envelope(statement_bytes(_statement()), key)
    tampered = replace(envelope, payload=b'{"_type": "forged"}')
    public = load_public_key(public_pem, source="pub")
    assert verify_envelope(tampered, [public]) is None
    independent = SSlibKey.from_crypto(public, keyid=key.fingerprint)
    with pytest.raises(VerificationError):
        Envelope.from_dict(tampered.to_json()).verify([independent], 1)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert verify_envelope(envelope, [other]) is None
    assert verify_envelope(unsigned_envelope(b"{}"), [public]) is None


def test_an_envelope_of_another_payload_type_is_not_accepted() -> None:
    """A valid signature over another payload type is another kind of document: the reader
    of in-toto statements refuses it, and accepts it only when asked for that type."""
    private_pem, public_pem = generate_key_pair("pw")
    key = load_private_key(private_pem.decode(), "pw", source="k")
    public = load_public_key(public_pem, source="pub")
    other_type = "application/vnd.example.note+json"
    envelope = sign_envelope(statement_bytes(_statement()), key, payload_type=other_type)
    assert verify_envelope(envelope, [public]) is None
    assert envelope.type_problem() == (
        f"the envelope's payloadType is {other_type!r}, not 'application/vnd.in-toto+json'"
    )
    verified = verify_envelope(envelope, [public], payload_type=other_type)
    assert verified is not None and verified[1] == key.fingerprint
    with pytest.raises(EnvelopeError, match="payloadType is missing") as missing:
        parse_envelope(dict(envelope.to_json(), payloadType=None))
    assert missing.value.part == "payloadType"
    assert sign_envelope(b"{}", key).type_problem() is None


def test_an_envelope_reads_back_from_its_bytes_and_a_doubtful_one_is_refused() -> None:
    """One reader: the stored bytes (strict JSON) or the JSON object give the same envelope;
    a duplicate key, a payload or signature that is not base64, or no list is refused."""
    key = load_private_key(generate_key_pair("pw")[0].decode(), "pw", source="k")
    envelope = sign_envelope(b'{"a": 1}', key)
    assert parse_envelope(envelope.to_bytes()) == envelope
    assert parse_envelope(envelope.to_json()) == envelope
    assert json.loads(envelope.to_bytes())["signatures"][0]["keyid"] == key.fingerprint
    assert parse_envelope(unsigned_envelope(b"{}").to_bytes()).signatures == ()
    body = envelope.to_bytes().decode()
    doubtful = {
        "document": ['{"payloadType": "a", ' + body[1:], "[]", "{"],
        "payload": [
            dict(envelope.to_json(), payload="not base64!"),
            dict(envelope.to_json(), payload=3),
        ],
        "signatures": [
            dict(envelope.to_json(), signatures={"sig": "AA=="}),
            dict(envelope.to_json(), signatures=[{"keyid": "k", "sig": "%%"}]),
            dict(envelope.to_json(), signatures=["AA=="]),
        ],
    }
    for part, documents in doubtful.items():
        for document in documents:
            with pytest.raises(EnvelopeError) as refused:
                parse_envelope(document)
            assert refused.value.part == part, document
