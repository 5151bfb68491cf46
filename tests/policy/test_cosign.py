"""cosign signature verification on facts (offline): valid, wrong key, other digest,
tampered payload, bad encodings."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from promoter.policy.attachedfacts import read_signature
from promoter.signing.cosign import signature_tag, verify_signatures
from promoter.signing.keys import load_public_key
from tests.policy.crafting import generate_key, public_pem, simple_signing_payload

DIGEST = "sha256:" + "ab" * 32


def _layer(key, payload: bytes, *, signed: bytes | None = None) -> dict:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    signature = key.sign(signed if signed is not None else payload, ec.ECDSA(hashes.SHA256()))
    return {
        "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
        "digest": "sha256:" + hashlib.sha256(payload).hexdigest(),
        "payload": base64.b64encode(payload).decode(),
        "signature": base64.b64encode(signature).decode(),
    }


def _verify(layers: list[dict], key) -> list[tuple[bool, str]]:
    checks = verify_signatures(
        [read_signature({"source": "tag", "layers": layers})],
        DIGEST,
        load_public_key(public_pem(key), source="key.pub"),
    )
    return [(c.verified, c.reason) for c in checks]


def test_signature_tag() -> None:
    assert signature_tag(DIGEST) == "sha256-" + "ab" * 32 + ".sig"


def test_valid_signature_and_capitalised_digest_key() -> None:
    key = generate_key()
    assert _verify([_layer(key, simple_signing_payload(DIGEST, "r"))], key) == [
        (True, "signature verifies with the key")
    ]
    capital = json.dumps(
        {
            "critical": {
                "identity": {},
                "image": {"Docker-manifest-digest": DIGEST},
                "type": "cosign container image signature",
            }
        }
    ).encode()
    assert _verify([_layer(key, capital)], key)[0][0] is True


def test_wrong_key_other_digest_tampered() -> None:
    key, other = generate_key(), generate_key()
    payload = simple_signing_payload(DIGEST, "r")
    assert "wrong key" in _verify([_layer(key, payload)], other)[0][1]
    elsewhere = simple_signing_payload("sha256:" + "cd" * 32, "r")
    assert _verify([_layer(key, elsewhere)], key) == [
        (False, f"signature is for sha256:{'cd' * 32}, not this image ({DIGEST})")
    ]
    tampered = payload.replace(b'"r"', b'"x"')
    assert _verify([_layer(key, tampered, signed=payload)], key)[0][0] is False


def test_one_good_layer_among_bad_ones_verifies() -> None:
    key = generate_key()
    bad = _layer(generate_key(), simple_signing_payload(DIGEST, "r"))
    good = _layer(key, simple_signing_payload(DIGEST, "r"))
    assert [v for v, _ in _verify([bad, good], key)] == [False, True]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"signature": "!!notbase64"}, "not valid base64"),
        ({"signature": ""}, "no dev.cosignproject.cosign/signature annotation"),
        ({"digest": "sha256:" + "0" * 64}, "does not match its descriptor digest"),
        ({"mediaType": "application/json"}, "not a simple-signing payload"),
    ],
)
def test_malformed_layers(change: dict, reason: str) -> None:
    key = generate_key()
    layer = dict(_layer(key, simple_signing_payload(DIGEST, "r")), **change)
    assert reason in _verify([layer], key)[0][1]


def test_wrong_type_and_non_json_payloads() -> None:
    key = generate_key()
    other_type = json.dumps(
        {"critical": {"image": {"docker-manifest-digest": DIGEST}, "type": "atomic"}}
    ).encode()
    assert (
        "is not a 'cosign container image signature'"
        in _verify([_layer(key, other_type)], key)[0][1]
    )
    assert "not strict JSON" in _verify([_layer(key, b"\xff not json")], key)[0][1]
