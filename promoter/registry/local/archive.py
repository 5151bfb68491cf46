"""``docker-archive:PATH``: read the tarball kaniko and ``docker save`` write.

Three shapes are read:

* kaniko (go-containerregistry's tarball): ``manifest.json``, the config as
  ``sha256:<hex>``, layers as ``<hex>.tar.gz`` (their names are their digests);
* ``docker save`` before Docker 25: ``manifest.json``, ``<hex>.json`` config,
  ``<id>/layer.tar`` (plain tar; the digest is computed);
* ``docker save`` from Docker 25 on: an OCI layout inside the tar (``index.json``,
  ``blobs/sha256/...``), whose manifest is served as stored.

For the first two there is no manifest in the archive: one is synthesised from
the descriptors of the blobs *as stored* (digest, size, gzip or plain tar). This
is the one place promoter generates a manifest instead of copying one. When all
layers are gzip it is a Docker v2 schema 2 manifest serialised as
go-containerregistry does, so its digest is the one kaniko reports.
"""

from __future__ import annotations

import json
import re
import tarfile
import threading
from collections.abc import Iterator

from promoter.config.inputfile import MAX_FILE_BYTES
from promoter.errors import InputError, RegistryError
from promoter.oci import mediatypes as mt
from promoter.oci.descriptor import Descriptor
from promoter.oci.digest import Digest, Digester, DigestMismatchError, compute_digest
from promoter.oci.manifest import sniff_media_type
from promoter.oci.raw import BlobOpener, BlobSource, RawManifest
from promoter.oci.reference import ArchiveReference, ImageReference
from promoter.registry.local.layout import index_problem
from promoter.structs import struct

__all__ = ["ArchiveSource", "layer_media_type"]

_READ_SIZE = 1024 * 1024
_NAMED = re.compile(r"^(?:sha256:|blobs/sha256/)?([a-f0-9]{64})(?:\.tar\.gz|\.json)?$")
_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"


@struct(frozen=True)
class _Member:
    offset: int
    size: int


def layer_media_type(head: bytes, *, oci: bool) -> str:
    """A layer's media type from its first bytes: gzip, zstd or plain tar."""
    if head.startswith(_GZIP):
        return mt.OCI_LAYER_GZIP if oci else mt.DOCKER_LAYER_GZIP
    if head.startswith(_ZSTD):
        return mt.OCI_LAYER_ZSTD
    return mt.OCI_LAYER


class ArchiveSource:
    """A docker archive, read-only; blobs are read straight from the tar by offset."""

    def __init__(self, reference: ArchiveReference) -> None:
        self.reference: ImageReference = reference
        self.ref = reference
        self.path = reference.path
        self._members: dict[str, _Member] = {}
        self._blobs: dict[str, _Member] = {}
        self._manifests: dict[str, RawManifest] = {}
        self._root: RawManifest | None = None
        self.repo_tags: list[str] = []
        self._lock = threading.Lock()
        self._scan()

    @property
    def name(self) -> str:
        return str(self.ref)

    # -- reading the tar --------------------------------------------------

    def _scan(self) -> None:
        try:
            with tarfile.open(self.path, "r:") as archive:
                for info in archive:
                    if info.isfile():
                        name = info.name.removeprefix("./")
                        self._members[name] = _Member(info.offset_data, info.size)
        except FileNotFoundError:
            raise InputError(f"{self.ref}: no such file") from None
        except (tarfile.TarError, OSError) as error:
            raise InputError(
                f"{self.ref}: not an uncompressed tar archive ({error})",
                hint="kaniko and docker save write plain tar; gunzip a compressed one first",
            ) from None

    def _read(self, member: _Member, offset: int = 0, limit: int | None = None) -> Iterator[bytes]:
        remaining = member.size - offset if limit is None else min(limit, member.size - offset)
        with open(self.path, "rb") as handle:
            handle.seek(member.offset + offset)
            while remaining > 0:
                chunk = handle.read(min(_READ_SIZE, remaining))
                if not chunk:
                    raise InputError(f"{self.ref}: the archive is truncated")
                remaining -= len(chunk)
                yield chunk

    def _member(self, name: str) -> _Member:
        member = self._members.get(name.removeprefix("./"))
        if member is None:
            raise InputError(f"{self.ref}: the archive lacks {name}")
        return member

    def _member_bytes(self, name: str) -> bytes:
        """A small member read whole (index.json, manifest.json): bounded like any input."""
        member = self._member(name)
        if member.size > MAX_FILE_BYTES:
            raise InputError(
                f"{self.ref}: {name} is {member.size} bytes; it is limited to {MAX_FILE_BYTES}"
            )
        return b"".join(self._read(member))

    def _describe(self, name: str, media_type: str | None) -> Descriptor:
        member = self._member(name)
        matched = _NAMED.match(name)
        if matched:
            digest = f"sha256:{matched.group(1)}"
        else:
            digester = Digester()
            for chunk in self._read(member):
                digester.update(chunk)
            digest = digester.digest()
        if media_type is None:
            head = b"".join(self._read(member, 0, 4))
            media_type = layer_media_type(head, oci=False)
        self._blobs[digest] = member
        return Descriptor(media_type, digest, member.size)

    def _load(self) -> RawManifest:
        with self._lock:  # blobs are read from parallel threads
            if self._root is None:
                if "index.json" in self._members and "oci-layout" in self._members:
                    self._root = self._load_oci()
                else:
                    self._root = self._synthesise()
            return self._root

    def _load_oci(self) -> RawManifest:
        for name, member in self._members.items():
            matched = _NAMED.match(name)
            if matched and name.startswith("blobs/sha256/"):
                self._blobs[f"sha256:{matched.group(1)}"] = member
        try:
            index = json.loads(self._member_bytes("index.json"))
        except (ValueError, RecursionError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            raise InputError(
                f"{self.ref}: index.json in the archive is not JSON: {reason}"
            ) from None
        problem = index_problem(index)
        if problem:
            raise InputError(
                f"{self.ref}: index.json in the archive is not an OCI index: {problem}"
            )
        entries = index.get("manifests") or []
        if not entries:
            raise InputError(f"{self.ref}: index.json lists no image")
        first = Descriptor.from_dict(entries[0])
        return self._stored_manifest(first.digest, first.media_type)

    def _synthesise(self) -> RawManifest:
        try:
            document = json.loads(self._member_bytes("manifest.json"))
            entry = document[0]
            config_name = str(entry["Config"])
            layer_names = [str(name) for name in entry["Layers"]]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise InputError(
                f"{self.ref}: manifest.json is not a docker archive manifest ({error})"
            ) from None
        self.repo_tags = [str(t) for t in entry.get("RepoTags") or []]
        layers = [self._describe(name, None) for name in layer_names]
        docker = all(layer.media_type == mt.DOCKER_LAYER_GZIP for layer in layers)
        if not docker:
            layers = [
                Descriptor(
                    mt.OCI_LAYER_GZIP
                    if layer.media_type == mt.DOCKER_LAYER_GZIP
                    else layer.media_type,
                    layer.digest,
                    layer.size,
                )
                for layer in layers
            ]
        config = self._describe(config_name, mt.DOCKER_CONFIG if docker else mt.OCI_CONFIG)
        media_type = mt.DOCKER_MANIFEST if docker else mt.OCI_MANIFEST
        manifest: dict[str, object] = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": _ordered(config),
            "layers": [_ordered(layer) for layer in layers],
        }
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        synthesised = RawManifest(raw=raw, media_type=media_type, digest=compute_digest(raw))
        self._manifests[synthesised.digest] = synthesised
        return synthesised

    # -- the Target interface (read side) --------------------------------

    def resolve(self) -> RawManifest:
        return self._load()

    def get_manifest(self, digest: str, media_type: str | None = None) -> RawManifest:
        self._load()
        return self._stored_manifest(digest, media_type)

    def _stored_manifest(self, digest: str, media_type: str | None) -> RawManifest:
        if digest in self._manifests:
            return self._manifests[digest]
        member = self._blobs.get(digest)
        if member is None:
            raise RegistryError(
                f"{self.ref}@{digest}: manifest not in the archive",
                code="MANIFEST_UNKNOWN",
                reference=f"{self.ref}@{digest}",
            )
        raw = b"".join(self._read(member))
        if compute_digest(raw) != digest:
            raise DigestMismatchError(
                f"{self.ref}@{digest}: manifest does not match its digest",
                code="DIGEST_INVALID",
                reference=f"{self.ref}@{digest}",
            )
        found = RawManifest(raw, media_type or sniff_media_type(json.loads(raw)), digest)
        self._manifests[digest] = found
        return found

    def manifest_exists(self, digest: str) -> bool:
        self._load()
        return digest in self._manifests or digest in self._blobs

    def tag_digest(self, tag: str) -> str | None:
        return None

    def list_tags(self) -> list[str]:
        self._load()
        return list(self.repo_tags)

    def blob_exists(self, digest: str) -> bool:
        self._load()
        return digest in self._blobs

    def get_blob(self, digest: str, offset: int = 0) -> Iterator[bytes]:
        self._load()
        member = self._blobs.get(digest)
        if member is None:
            raise RegistryError(
                f"{self.ref}@{digest}: blob not in the archive",
                code="BLOB_UNKNOWN",
                reference=f"{self.ref}@{digest}",
            )
        digester = Digester(Digest.parse(digest).algorithm) if offset == 0 else None
        for chunk in self._read(member, offset):
            if digester is not None:
                digester.update(chunk)
            yield chunk
        if digester is not None and digester.digest() != digest:
            raise DigestMismatchError(
                f"{self.ref}: the layer stored for {digest} hashes to {digester.digest()}",
                code="DIGEST_INVALID",
                reference=f"{self.ref}@{digest}",
            )

    def get_blob_bytes(self, digest: str) -> bytes:
        return b"".join(self.get_blob(digest))

    def blob_opener(self, digest: str) -> BlobOpener:
        return lambda offset: self.get_blob(digest, offset)

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        return []

    # -- no writing -------------------------------------------------------

    def _read_only(self) -> InputError:
        return InputError(
            f"{self.ref}: docker-archive is read-only",
            hint="write to a registry or to oci:PATH[:TAG] instead",
        )

    def put_blob(self, descriptor: Descriptor, source: BlobSource) -> int:
        raise self._read_only()

    def mount_blob(self, digest: str, source: object) -> bool:
        return False

    def put_manifest(
        self, raw: bytes, media_type: str, reference: str | None = None, *, root: bool = False
    ) -> str:
        raise self._read_only()

    def close(self) -> None:
        """Nothing held open between calls."""


def _ordered(descriptor: Descriptor) -> dict[str, object]:
    # go-containerregistry's field order: mediaType, size, digest.
    return {
        "mediaType": descriptor.media_type,
        "size": descriptor.size,
        "digest": descriptor.digest,
    }
