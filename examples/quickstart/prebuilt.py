"""Write the quickstart's prebuilt image as an OCI image layout (standard library only).

Used by ``examples/quickstart/run.sh`` when no kaniko executor image is
available: the same two files the Dockerfile copies, as one layer, running as
user 65534, with the OCI labels the pipeline's policies ask for.

    python prebuilt.py --app app --out DIR --tag 1.0.0 --revision SHA --source URL
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import tarfile
from datetime import datetime, timezone
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(app: Path) -> tuple[bytes, bytes]:
    """(uncompressed tar, gzip) of srv/hello.txt and srv/index.html, reproducibly."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folder = tarfile.TarInfo("srv")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        for name in ("hello.txt", "index.html"):
            content = (app / name).read_bytes()
            info = tarfile.TarInfo(f"srv/{name}")
            info.size, info.mode = len(content), 0o644
            tar.addfile(info, io.BytesIO(content))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as zipped:
        zipped.write(raw.getvalue())
    return raw.getvalue(), packed.getvalue()


def _blob(out: Path, data: bytes) -> str:
    digest = _digest(data)
    path = out / "blobs" / "sha256" / digest.split(":", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def write_layout(app: Path, out: Path, tag: str, revision: str, source: str) -> str:
    """Write the layout; return the manifest digest."""
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    tar, layer = _layer(app)
    labels = {
        "org.opencontainers.image.title": "hello",
        "org.opencontainers.image.description": "promoter quickstart",
        "org.opencontainers.image.source": source,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.version": tag,
        "org.opencontainers.image.created": created,
    }
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"User": "65534:65534", "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [_digest(tar)]},
        "history": [{"created": created, "created_by": "COPY hello.txt index.html /srv/"}],
    }
    config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": _blob(out, config_bytes),
            "size": len(config_bytes),
        },
        "layers": [{"mediaType": OCI_LAYER, "digest": _blob(out, layer), "size": len(layer)}],
    }
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
    digest = _blob(out, manifest_bytes)
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (out / "index.json").write_text(json.dumps(index, indent=2))
    return digest


def main() -> None:
    """Parse the arguments and write the layout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(write_layout(args.app, args.out, args.tag, args.revision, args.source))


if __name__ == "__main__":
    main()
