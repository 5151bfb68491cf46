"""Putting crafted OCI content somewhere: OCI layouts, docker archives, registries.

``write_layout`` writes images to an OCI image layout; ``write_random_layout``
streams a large image of incompressible layers to disk in constant memory;
``write_docker_archive`` writes a kaniko-style tarball; ``push_with_skopeo``
and ``push_http`` put content into a registry (the latter without skopeo and
without promoter's own client).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.oci_craft import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Image,
    _dumps,
    digest_of,
)

__all__ = [
    "push_http",
    "push_with_client",
    "push_with_skopeo",
    "write_docker_archive",
    "write_layout",
    "write_random_layout",
]

_CHUNK = 1 << 20


# -- on disk -------------------------------------------------------------------------------


def _write_blob(layout: Path, digest: str, data: bytes) -> None:
    algorithm, hexdigest = digest.split(":", 1)
    path = layout / "blobs" / algorithm / hexdigest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _layout_index(layout: Path) -> dict[str, Any]:
    index_path = layout / "index.json"
    if index_path.exists():
        loaded: dict[str, Any] = json.loads(index_path.read_bytes())
        return loaded
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}


def _add_to_layout_index(layout: Path, descriptor: dict[str, Any], tag: str | None) -> None:
    index = _layout_index(layout)
    if tag is not None:
        descriptor = {
            **descriptor,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }
        index["manifests"] = [
            m
            for m in index["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag
        ]
    else:
        index["manifests"] = [m for m in index["manifests"] if m["digest"] != descriptor["digest"]]
    descriptor.pop("platform", None)
    index["manifests"].append(descriptor)
    (layout / "index.json").write_bytes(_dumps(index))


def write_layout(
    directory: str | os.PathLike[str], images: Mapping[str, Image] | Iterable[Image]
) -> Path:
    """Write images to an OCI image layout; a mapping gives each image a tag.

    Adds to an existing layout. Every manifest of the graph is stored as a blob;
    only the top-level images are listed in ``index.json``.
    """
    layout = Path(directory)
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    pairs: list[tuple[str | None, Image]]
    if isinstance(images, Mapping):
        pairs = list(images.items())
    else:
        pairs = [(None, image) for image in images]
    for tag, image in pairs:
        for digest, data in image.blobs.items():
            _write_blob(layout, digest, data)
        for manifest in image.manifests():
            _write_blob(layout, manifest.digest, manifest.manifest_bytes)
        _add_to_layout_index(layout, image.descriptor(), tag)
    return layout


def write_random_layout(
    directory: str | os.PathLike[str],
    tag: str,
    layer_sizes: Sequence[int],
    *,
    seed: int | str = 0,
) -> Image:
    """Stream an image of incompressible tar+gzip layers into an OCI layout.

    Memory stays constant whatever the sizes (layers go to disk in 1 MiB
    chunks). Returns the image with only its config in ``blobs`` (the layers are
    on disk, under ``blobs/sha256``).
    """
    layout = Path(directory)
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    descriptors: list[dict[str, Any]] = []
    diff_ids: list[str] = []
    for i, size in enumerate(layer_sizes):
        digest, length, diff_id = _stream_random_layer(layout, size, f"{seed}-{i}")
        descriptors.append({"mediaType": OCI_LAYER, "digest": digest, "size": length})
        diff_ids.append(diff_id)
    config = _dumps(
        {
            "created": "2024-01-01T00:00:00Z",
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": f"layer {i}"} for i in range(len(diff_ids))],
        }
    )
    _write_blob(layout, digest_of(config), config)
    manifest = _dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": descriptors,
        }
    )
    image = Image(OCI_MANIFEST, manifest, {digest_of(config): config})
    _write_blob(layout, image.digest, manifest)
    _add_to_layout_index(layout, image.descriptor(), tag)
    return image


def _stream_random_layer(layout: Path, size: int, seed: str) -> tuple[str, int, str]:
    """Write one tar (one random file) gzip'ed at level 0; return digest, size, diff_id."""
    rng = random.Random(seed)
    header = tarfile.TarInfo(f"data-{seed}.bin")
    header.size = size
    header.mode = 0o644
    header.mtime = 0
    head = header.tobuf(format=tarfile.PAX_FORMAT)
    padding = b"\0" * ((-size) % 512) + b"\0" * 1024  # content padding, then end of archive
    raw_hash = hashlib.sha256()
    out_hash = hashlib.sha256()
    crc = 0
    length = 0
    compressor = zlib.compressobj(0, zlib.DEFLATED, -zlib.MAX_WBITS)
    tmp = layout / "blobs" / "sha256" / f".tmp-{seed}"
    with tmp.open("wb") as out:

        def put(data: bytes) -> None:
            nonlocal length
            if data:
                out.write(data)
                out_hash.update(data)
                length += len(data)

        put(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")  # gzip header, mtime 0
        remaining = size
        chunks: Iterator[bytes] = iter([head])
        for piece in _chain(chunks, _random_chunks(rng, remaining), iter([padding])):
            raw_hash.update(piece)
            crc = zlib.crc32(piece, crc)
            put(compressor.compress(piece))
        put(compressor.flush())
        total = len(head) + size + len(padding)
        put(crc.to_bytes(4, "little") + (total & 0xFFFFFFFF).to_bytes(4, "little"))
    digest = "sha256:" + out_hash.hexdigest()
    tmp.rename(layout / "blobs" / "sha256" / out_hash.hexdigest())
    return digest, length, "sha256:" + raw_hash.hexdigest()


def _random_chunks(rng: random.Random, size: int) -> Iterator[bytes]:
    while size > 0:
        n = min(size, _CHUNK)
        yield rng.randbytes(n)
        size -= n


def _chain(*iterators: Iterator[bytes]) -> Iterator[bytes]:
    for iterator in iterators:
        yield from iterator


def write_docker_archive(
    path: str | os.PathLike[str], image: Image, repo_tags: Sequence[str] = ()
) -> Path:
    """Write ``image`` as the tarball kaniko writes (``docker-archive``).

    Entries: the config as ``sha256:<hex>``, each layer as ``<hex>.tar.gz``, and
    ``manifest.json`` listing them. The layers keep their exact bytes, so a
    reader that pushes them as they are reproduces ``image``'s blob digests.
    """
    config_digest = image.config_digest
    if config_digest is None:
        raise ValueError("a docker-archive holds one image, not an index")
    entries: dict[str, bytes] = {config_digest: image.blobs[config_digest]}
    layer_names = []
    for digest in image.layer_digests:
        name = digest.split(":", 1)[1] + ".tar.gz"
        entries[name] = image.blobs[digest]
        layer_names.append(name)
    manifest = [{"Config": config_digest, "RepoTags": list(repo_tags), "Layers": layer_names}]
    entries["manifest.json"] = _dumps(manifest)
    out = Path(path)
    with tarfile.open(out, "w") as tar:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    return out


# -- pushing ------------------------------------------------------------------------------


def push_with_skopeo(
    layout: str | os.PathLike[str],
    tag: str,
    destination: str,
    *,
    multi: bool = True,
    timeout: float = 300,
    extra_args: Sequence[str] = (),
) -> None:
    """``skopeo copy [--all] --preserve-digests oci:LAYOUT:TAG docker://DESTINATION``.

    skopeo's layout reader accepts only OCI media types in ``index.json``: push
    Docker v2 schema 2 images with :func:`push_http` instead.
    """
    args = ["skopeo", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false"]
    if multi:
        args.append("--all")
    args += [*extra_args, f"oci:{layout}:{tag}", f"docker://{destination}"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"skopeo copy failed ({result.returncode}): {result.stderr.strip()}")


def push_http(image: Image, base_url: str, repository: str, tag: str | None = None) -> str:
    """Push ``image`` (and its children and blobs) with plain HTTP requests.

    ``base_url`` is like ``http://127.0.0.1:5000``. No auth: for seeding the
    tests' anonymous registries independently of promoter's own client. The
    manifest is pushed by digest, then under ``tag`` if given. Returns the digest.
    """
    import httpx

    # A connection per request: a registry may close an idle kept-alive one just
    # as the next request goes out on it, and this seeding helper does not retry.
    headers = {"Connection": "close"}
    with httpx.Client(base_url=base_url, timeout=60, headers=headers) as client:
        for digest, data in image.blobs.items():
            if client.head(f"/v2/{repository}/blobs/{digest}").status_code == 200:
                continue
            started = client.post(f"/v2/{repository}/blobs/uploads/")
            started.raise_for_status()
            location = started.headers["Location"]
            sep = "&" if "?" in location else "?"
            done = client.put(
                f"{location}{sep}digest={digest}",
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            done.raise_for_status()
        for manifest in image.manifests():
            refs = [manifest.digest] + ([tag] if tag and manifest is image else [])
            for ref in refs:
                put = client.put(
                    f"/v2/{repository}/manifests/{ref}",
                    content=manifest.manifest_bytes,
                    headers={"Content-Type": manifest.media_type},
                )
                put.raise_for_status()
    return image.digest


def push_with_client(client: Any, image: Image, repository: str, tag: str | None = None) -> str:
    """Push ``image`` through promoter's own ``RegistryClient`` (which logs in), for
    registries behind auth that ``push_http`` cannot reach. Returns the digest."""
    for digest, data in image.blobs.items():
        client.upload_blob(repository, digest, len(data), data)
    for manifest in image.manifests():  # children by digest, then the image (under ``tag``)
        ref = tag if manifest is image else None
        client.put_manifest(repository, manifest.manifest_bytes, manifest.media_type, ref)
    return image.digest
