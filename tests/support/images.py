"""Crafting OCI content for tests, in pure Python: images, indexes, artifacts, Helm charts.

Everything here is deterministic for a given seed, so a test can rebuild the
same digests. The model is small on purpose:

* :class:`Image` is any manifest (image, index or artifact) with its bytes,
  digest, media type, the blobs it needs (``blobs``: digest -> bytes, children's
  blobs included for an index) and its child manifests (``children``).
* :func:`write_layout` writes images to an OCI image layout directory
  (``oci-layout``, ``index.json``, ``blobs/sha256/...``).
* :func:`push_with_skopeo` pushes a layout tag to a registry with skopeo, and
  :func:`push_http` pushes an :class:`Image` with plain HTTP requests (no
  promoter code involved, so it can seed registries for promoter's own tests).
* :func:`write_random_layout` streams a large image of incompressible layers
  straight to disk (constant memory), for benchmarks.
* :func:`write_docker_archive` writes a kaniko-style ``docker-archive`` tarball.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "EMPTY_JSON",
    "HELM_CHART",
    "HELM_CONFIG",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_TAR",
    "OCI_MANIFEST",
    "Image",
    "digest_of",
    "make_artifact",
    "make_helm_chart",
    "make_image",
    "make_index",
    "make_platform_index",
    "push_http",
    "push_with_skopeo",
    "random_bytes",
    "random_layer",
    "tar_gz",
    "write_docker_archive",
    "write_layout",
    "write_random_layout",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
EMPTY_JSON = b"{}"

_CHUNK = 1 << 20


def digest_of(data: bytes) -> str:
    """The ``sha256:<hex>`` digest of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Image:
    """One manifest (image, index or artifact) and everything it references.

    ``blobs`` maps digest -> bytes for every blob reachable from this manifest
    (configs and layers, children's included); ``children`` are the manifests an
    index lists, in order; ``platform`` is how an index should describe it.
    """

    media_type: str
    manifest_bytes: bytes
    blobs: Mapping[str, bytes] = field(default_factory=dict)
    children: tuple[Image, ...] = ()
    platform: Mapping[str, str] | None = None
    artifact_type: str | None = None

    @property
    def digest(self) -> str:
        """The manifest digest."""
        return digest_of(self.manifest_bytes)

    @property
    def size(self) -> int:
        """The manifest size in bytes."""
        return len(self.manifest_bytes)

    @property
    def manifest(self) -> dict[str, Any]:
        """The parsed manifest."""
        parsed: dict[str, Any] = json.loads(self.manifest_bytes)
        return parsed

    @property
    def config_digest(self) -> str | None:
        """The config digest of an image manifest (None for an index)."""
        config = self.manifest.get("config")
        return None if config is None else str(config["digest"])

    @property
    def layer_digests(self) -> list[str]:
        """The layer digests of an image manifest, in order."""
        return [str(layer["digest"]) for layer in self.manifest.get("layers", [])]

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        """A descriptor pointing at this manifest (with its platform, if any)."""
        desc: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.artifact_type:
            desc["artifactType"] = self.artifact_type
        if self.platform:
            desc["platform"] = dict(self.platform)
        desc.update(extra)
        return desc

    def manifests(self) -> Iterator[Image]:
        """Every manifest of the graph, children before parents, this one last."""
        for child in self.children:
            yield from child.manifests()
        yield self

    @property
    def blob_bytes(self) -> int:
        """The total size of the blobs (not manifests) of the graph."""
        return sum(len(data) for data in self.blobs.values())


def random_bytes(size: int, seed: int | str = 0) -> bytes:
    """``size`` incompressible bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


def tar_gz(files: Mapping[str, bytes], *, level: int = 6) -> bytes:
    """A deterministic gzip-compressed tar of ``files`` (name -> content), mtime 0."""
    return gzip.compress(_tar(files), compresslevel=level, mtime=0)


def _tar(files: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def random_layer(size: int, seed: int | str = 0, *, name: str | None = None) -> bytes:
    """A valid tar+gzip layer holding one file of ``size`` random bytes.

    Stored (level 0) deflate: the layer is as large as its content, as an
    incompressible layer is, and crafting it costs no compression time.
    """
    return tar_gz({name or f"data-{seed}.bin": random_bytes(size, seed)}, level=0)


def _diff_id(layer: bytes, media_type: str) -> str:
    if media_type.endswith("gzip"):
        try:
            return digest_of(gzip.decompress(layer))
        except (OSError, EOFError):
            return digest_of(layer)
    return digest_of(layer)


def make_image(
    *,
    layers: Sequence[bytes] | None = None,
    layer_sizes: Sequence[int] = (),
    seed: int | str = 0,
    user: str | None = None,
    labels: Mapping[str, str] | None = None,
    env: Sequence[str] | None = None,
    cmd: Sequence[str] | None = None,
    history: Sequence[Mapping[str, Any]] | None = None,
    created: str = "2024-01-01T00:00:00Z",
    os_name: str = "linux",
    architecture: str = "amd64",
    variant: str | None = None,
    docker: bool = False,
    annotations: Mapping[str, str] | None = None,
    subject: Image | None = None,
    layer_media_type: str | None = None,
) -> Image:
    """A single-platform image: a config and its layers.

    ``layers`` are given as bytes, or made by :func:`random_layer` from
    ``layer_sizes`` (one layer per size, seeded from ``seed``); with neither,
    one small tar+gzip layer. ``docker=True`` uses Docker v2 schema 2 media types.
    """
    if layers is None:
        if layer_sizes:
            layers = [random_layer(n, f"{seed}-{i}") for i, n in enumerate(layer_sizes)]
        else:
            layers = [tar_gz({f"hello-{seed}.txt": f"hello {seed}\n".encode()})]
    layer_type = layer_media_type or (DOCKER_LAYER if docker else OCI_LAYER)
    config_doc: dict[str, Any] = {
        "created": created,
        "architecture": architecture,
        "os": os_name,
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [_diff_id(x, layer_type) for x in layers]},
        "history": list(history)
        if history is not None
        else [{"created": created, "created_by": f"layer {i}"} for i in range(len(layers))],
    }
    if variant:
        config_doc["variant"] = variant
    runtime: dict[str, Any] = config_doc["config"]
    if user is not None:
        runtime["User"] = user
    if labels:
        runtime["Labels"] = dict(labels)
    if env is not None:
        runtime["Env"] = list(env)
    if cmd is not None:
        runtime["Cmd"] = list(cmd)
    config = _dumps(config_doc)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": {
            "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
            "digest": digest_of(config),
            "size": len(config),
        },
        "layers": [
            {"mediaType": layer_type, "digest": digest_of(x), "size": len(x)} for x in layers
        ],
    }
    if subject is not None:
        manifest["subject"] = subject.descriptor()
    if annotations:
        manifest["annotations"] = dict(annotations)
    blobs = {digest_of(config): config, **{digest_of(x): x for x in layers}}
    platform = {"os": os_name, "architecture": architecture}
    if variant:
        platform["variant"] = variant
    return Image(manifest["mediaType"], _dumps(manifest), blobs, platform=platform)


def make_index(
    images: Iterable[Image],
    *,
    docker: bool = False,
    annotations: Mapping[str, str] | None = None,
    subject: Image | None = None,
) -> Image:
    """An index (or a Docker manifest list with ``docker=True``) of ``images``."""
    children = tuple(images)
    index: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST if docker else OCI_INDEX,
        "manifests": [child.descriptor() for child in children],
    }
    if subject is not None:
        index["subject"] = subject.descriptor()
    if annotations:
        index["annotations"] = dict(annotations)
    blobs: dict[str, bytes] = {}
    for child in children:
        blobs.update(child.blobs)
    return Image(index["mediaType"], _dumps(index), blobs, children)


def make_platform_index(
    *, seed: int | str = 0, docker: bool = False, layer_sizes: Sequence[int] = (), **image_args: Any
) -> Image:
    """A two-platform index: linux/amd64 and linux/arm64 (variant v8)."""
    amd64 = make_image(seed=f"{seed}-amd64", docker=docker, layer_sizes=layer_sizes, **image_args)
    arm64 = make_image(
        seed=f"{seed}-arm64",
        docker=docker,
        layer_sizes=layer_sizes,
        architecture="arm64",
        variant="v8",
        **image_args,
    )
    return make_index([amd64, arm64], docker=docker)


def make_artifact(
    subject: Image,
    *,
    artifact_type: str = "application/spdx+json",
    payload: bytes | None = None,
    payload_media_type: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Image:
    """An OCI 1.1 artifact referring to ``subject``: empty config, one payload layer."""
    body = (
        payload
        if payload is not None
        else _dumps({"spdxVersion": "SPDX-2.3", "of": subject.digest})
    )
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": OCI_EMPTY, "digest": digest_of(EMPTY_JSON), "size": 2},
        "layers": [
            {
                "mediaType": payload_media_type or artifact_type,
                "digest": digest_of(body),
                "size": len(body),
            }
        ],
        "subject": subject.descriptor(),
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    blobs = {digest_of(EMPTY_JSON): EMPTY_JSON, digest_of(body): body}
    return Image(OCI_MANIFEST, _dumps(manifest), blobs, artifact_type=artifact_type)


def make_helm_chart(name: str = "demo", version: str = "0.1.0") -> Image:
    """A Helm chart in OCI form, as ``helm push`` writes it."""
    chart_yaml = f"apiVersion: v2\nname: {name}\nversion: {version}\ntype: application\n"
    chart = tar_gz(
        {
            f"{name}/Chart.yaml": chart_yaml.encode(),
            f"{name}/values.yaml": b"replicaCount: 1\n",
        }
    )
    config = _dumps({"name": name, "version": version, "apiVersion": "v2", "type": "application"})
    manifest = {
        "schemaVersion": 2,
        "config": {"mediaType": HELM_CONFIG, "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": HELM_CHART, "digest": digest_of(chart), "size": len(chart)}],
        "annotations": {
            "org.opencontainers.image.title": name,
            "org.opencontainers.image.version": version,
        },
    }
    blobs = {digest_of(config): config, digest_of(chart): chart}
    return Image(OCI_MANIFEST, _dumps(manifest), blobs)


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

    with httpx.Client(base_url=base_url, timeout=60) as client:
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
