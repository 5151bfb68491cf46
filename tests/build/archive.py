"""Reading a kaniko tarball in the tests, independently of promoter's own readers."""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Archive", "read_archive"]


@dataclass
class Archive:
    """The three entries of a kaniko tarball, decoded."""

    names: list[str]
    manifest: list[dict[str, Any]]
    config_bytes: bytes
    layer_bytes: bytes

    @property
    def config(self) -> dict[str, Any]:
        return dict(json.loads(self.config_bytes))

    def registry_manifest(self) -> bytes:
        """The Docker v2 schema 2 manifest a registry receives for this tarball (compact)."""
        doc = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(self.config_bytes),
                "digest": "sha256:" + hashlib.sha256(self.config_bytes).hexdigest(),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(self.layer_bytes),
                    "digest": "sha256:" + hashlib.sha256(self.layer_bytes).hexdigest(),
                }
            ],
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    def registry_digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.registry_manifest()).hexdigest()


def read_archive(path: Path) -> Archive:
    """Open a docker-archive tarball and decode its manifest, config and single layer."""
    with tarfile.open(path) as tar:
        names = tar.getnames()
        manifest = json.loads(_read(tar, "manifest.json"))
        entry = manifest[0]
        config = _read(tar, entry["Config"])
        layer = _read(tar, entry["Layers"][0])
    return Archive(names=names, manifest=manifest, config_bytes=config, layer_bytes=layer)


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    assert member is not None, f"{name} is not a file in the archive"
    return member.read()
