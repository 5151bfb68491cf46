"""Crafting what the policy tests check, in a real registry: attached artifacts (with the
OCI 1.1 referrers tag schema, as distribution 2.8 has no referrers API) and cosign
signatures in cosign's layout, made here with a test ECDSA P-256 key."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from tests.support.images import (
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    digest_of,
    push_http,
)

__all__ = [
    "SIMPLE_SIGNING",
    "attach",
    "generate_key",
    "public_pem",
    "push",
    "signature_image",
    "simple_signing_payload",
]

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def push(image: Image, base_url: str, repository: str, tag: str | None = None) -> str:
    """Push an image graph with plain HTTP (no promoter code); returns its digest."""
    return push_http(image, base_url, repository, tag)


def attach(artifact: Image, subject_digest: str, base_url: str, repository: str) -> None:
    """Push ``artifact`` (whose ``subject`` is set) and add it to the referrers tag
    ``sha256-<hex>`` index, as an OCI 1.1 client does for a registry without the API."""
    push_http(artifact, base_url, repository)
    tag = subject_digest.replace(":", "-")
    with httpx.Client(base_url=base_url, timeout=30) as client:
        current = client.get(f"/v2/{repository}/manifests/{tag}", headers={"Accept": OCI_INDEX})
        manifests = current.json()["manifests"] if current.status_code == 200 else []
        manifests.append(
            artifact.descriptor(
                **(
                    {"annotations": artifact.manifest["annotations"]}
                    if artifact.manifest.get("annotations")
                    else {}
                )
            )
        )
        index = _dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
        client.put(
            f"/v2/{repository}/manifests/{tag}", content=index, headers={"Content-Type": OCI_INDEX}
        ).raise_for_status()


def generate_key() -> Any:
    """A fresh ECDSA P-256 private key (cosign's default key type)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def public_pem(private_key: Any) -> bytes:
    """The PEM SubjectPublicKeyInfo of a private key, as ``cosign.pub`` holds it."""
    from cryptography.hazmat.primitives import serialization

    return bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def simple_signing_payload(digest: str, docker_reference: str) -> bytes:
    """cosign's simple-signing payload for an image digest."""
    return _dumps(
        {
            "critical": {
                "identity": {"docker-reference": docker_reference},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    )


def _sign(private_key: Any, payload: bytes) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    return base64.b64encode(private_key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()


def signature_image(
    private_key: Any,
    digest: str,
    docker_reference: str,
    *,
    signed_payload: bytes | None = None,
    stored_payload: bytes | None = None,
    subject: Image | None = None,
) -> Image:
    """A cosign signature manifest for ``digest``.

    ``signed_payload`` is what the key signs (default: the payload for
    ``digest``); ``stored_payload`` is the blob stored (default: the same) -
    a different one makes a tampered signature. With ``subject`` the manifest
    is an OCI 1.1 referrer (cosign's referrers layout), else a plain manifest
    for the ``sha256-<hex>.sig`` tag.
    """
    signed = (
        signed_payload
        if signed_payload is not None
        else simple_signing_payload(digest, docker_reference)
    )
    stored = stored_payload if stored_payload is not None else signed
    layer = {
        "mediaType": SIMPLE_SIGNING,
        "digest": digest_of(stored),
        "size": len(stored),
        "annotations": {"dev.cosignproject.cosign/signature": _sign(private_key, signed)},
    }
    blobs: dict[str, bytes] = {digest_of(stored): stored}
    manifest: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [layer]}
    if subject is None:
        config = _dumps(
            {
                "architecture": "",
                "os": "",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": []},
            }
        )
        manifest["config"] = {
            "mediaType": OCI_CONFIG,
            "digest": digest_of(config),
            "size": len(config),
        }
        blobs[digest_of(config)] = config
        return Image(OCI_MANIFEST, _dumps(manifest), blobs)
    manifest["artifactType"] = COSIGN_SIG_ARTIFACT
    manifest["config"] = {"mediaType": OCI_EMPTY, "digest": digest_of(b"{}"), "size": 2}
    manifest["subject"] = subject.descriptor()
    blobs[digest_of(b"{}")] = b"{}"
    return Image(OCI_MANIFEST, _dumps(manifest), blobs, artifact_type=COSIGN_SIG_ARTIFACT)


def allow_foreign_layers(registry: Any) -> None:
    """Restart a test registry with foreign-layer URLs allowed (distribution refuses them
    by default), so an image with a Docker foreign layer can be pushed to it."""
    import yaml

    config = yaml.safe_load(registry.config_path.read_text())
    config["validation"] = {"manifests": {"urls": {"allow": ["^https?://"]}}}
    registry.config_path.write_text(yaml.safe_dump(config))
    registry.restart()
