"""cosign's simple-signing payload: what a signature of an image digest signs.

    {"critical": {"identity": {"docker-reference": REPOSITORY},
                  "image": {"docker-manifest-digest": DIGEST},
                  "type": "cosign container image signature"},
     "optional": {...}}

The signature (ECDSA P-256 over SHA-256 of these exact bytes) goes into the
``dev.cosignproject.cosign/signature`` annotation of the layer that holds them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

__all__ = ["SIGNATURE_TYPE", "simple_signing_payload"]

SIGNATURE_TYPE = "cosign container image signature"


def simple_signing_payload(
    repository: str, digest: str, optional: Mapping[str, object] | None = None
) -> bytes:
    """The payload naming ``repository`` (``host/repo``) and the manifest ``digest``."""
    document = {
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": dict(optional) if optional else None,
    }
    return json.dumps(document, separators=(",", ":")).encode("utf-8")
