"""Crafting OCI content in memory, deterministic for a given seed.

:class:`Image` is any manifest (image, index or artifact) with its bytes,
digest, media type, the blobs it needs (``blobs``: digest -> bytes, children's
blobs included for an index) and its child manifests (``children``). The
``make_*`` functions build images, indexes, OCI 1.1 artifacts with a
``subject``, Helm charts and Docker v2 schema 2 variants.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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
    "random_bytes",
    "random_layer",
    "tar_gz",
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
