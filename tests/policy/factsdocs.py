"""Synthetic facts documents for the rule-logic unit tests (cheap, many edge cases)."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["DIGEST", "facts_doc", "platform_entry"]

DIGEST = "sha256:" + "ab" * 32


def platform_entry(platform: str = "linux/amd64", **overrides: Any) -> dict[str, Any]:
    """One platform of a facts document; keys as the gatherer writes them."""
    os_name, arch, *variant = platform.split("/")
    entry: dict[str, Any] = {
        "platform": platform,
        "digest": "sha256:" + "cd" * 32,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "size": 400,
        "annotations": {},
        "config": {
            "digest": "sha256:" + "ef" * 32,
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": 600,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": "sha256:" + "11" * 32,
                "size": 1000,
            }
        ],
        "layersSize": 1000,
        "totalSize": 1600,
        "os": os_name,
        "architecture": arch,
        "variant": variant[0] if variant else None,
        "created": "2026-11-20T00:00:00Z",
        "user": "app",
        "env": ["PATH=/usr/bin"],
        "labels": {},
        "exposedPorts": [],
        "entrypoint": None,
        "cmd": ["/app"],
        "workingDir": "",
        "history": [
            {"created": "2026-11-20T00:00:00Z", "createdBy": "COPY app /app", "emptyLayer": False}
        ],
    }
    entry.update(copy.deepcopy(overrides))
    return entry


def facts_doc(*platforms: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A whole facts document (one linux/amd64 platform unless given)."""
    entries = list(platforms) or [platform_entry()]
    doc: dict[str, Any] = {
        "factsVersion": 1,
        "reference": "127.0.0.1:5000/app:1.0",
        "repository": "127.0.0.1:5000/app",
        "digest": DIGEST,
        "mediaType": "application/vnd.oci.image.index.v1+json"
        if len(entries) > 1
        else entries[0]["mediaType"],
        "annotations": {},
        "index": None,
        "platforms": entries,
        "referrers": [],
        "signatures": [],
        "gathered": {"at": "2026-11-28T00:00:00Z", "requests": 0},
    }
    doc.update(copy.deepcopy(overrides))
    return doc
