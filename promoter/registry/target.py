"""``Target``: one read/write interface over a registry repository, an OCI image
layout and a docker archive, so the copy engine does not care which it holds.

The copy engine's walk: ``resolve()`` the source to manifest bytes; parse and
walk children; for each blob: ``blob_exists`` -> skip, ``mount_blob`` (same
registry) -> done, else ``put_blob(descriptor, source.blob_opener(digest))``;
then ``put_manifest`` children first (by digest), the root, and tags last.
"""

from __future__ import annotations

from collections.abc import Iterator

from promoter.errors import InputError, RegistryError
from promoter.oci.descriptor import Descriptor
from promoter.oci.raw import BlobOpener, BlobSource, RawManifest
from promoter.oci.reference import (
    ArchiveReference,
    ImageReference,
    LayoutReference,
    Reference,
    parse_reference,
)
from promoter.registry.remote.client import RegistryClient
from promoter.registry.remote.pool import Registries
from promoter.structs import Protocol

__all__ = ["RepositoryTarget", "Target", "open_target"]


class Target(Protocol):
    """Where manifests and blobs are read from and written to."""

    reference: ImageReference

    @property
    def name(self) -> str:
        """The target for people (the reference without tag or digest)."""
        ...

    def resolve(self) -> RawManifest:
        """The manifest the reference names: its digest, tag, or the only image."""
        ...

    def get_manifest(self, digest: str) -> RawManifest:
        """A manifest by digest, bytes exactly as stored, digest-checked."""
        ...

    def manifest_exists(self, digest: str) -> bool:
        """Whether a manifest with this digest is present."""
        ...

    def tag_digest(self, tag: str) -> str | None:
        """The digest ``tag`` points at now, or None."""
        ...

    def list_tags(self) -> list[str]:
        """The tags of this repository or layout."""
        ...

    def blob_exists(self, digest: str) -> bool:
        """Whether the blob is present."""
        ...

    def get_blob(self, digest: str, offset: int = 0) -> Iterator[bytes]:
        """Stream a blob from ``offset`` (checked against its digest when read whole)."""
        ...

    def get_blob_bytes(self, digest: str) -> bytes:
        """A whole (small) blob."""
        ...

    def blob_opener(self, digest: str) -> BlobOpener:
        """An opener for ``put_blob``: the blob from any offset."""
        ...

    def put_blob(self, descriptor: Descriptor, source: BlobSource) -> int:
        """Store a blob; return the bytes written."""
        ...

    def mount_blob(self, digest: str, source: Target) -> bool:
        """Cross-repository mount from ``source`` when possible; False otherwise."""
        ...

    def put_manifest(
        self, raw: bytes, media_type: str, reference: str | None = None, *, root: bool = False
    ) -> str:
        """Store manifest bytes as given, under a tag or by digest; return the digest.

        ``root`` marks an untagged top-level manifest (an OCI layout lists it in
        ``index.json``); registries ignore it.
        """
        ...

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        """What refers to ``digest`` (its ``subject``)."""
        ...

    def close(self) -> None:
        """Release files and connections held by this target only."""
        ...


class RepositoryTarget:
    """A repository in a registry."""

    def __init__(self, client: RegistryClient, reference: Reference) -> None:
        self.client = client
        self.reference: ImageReference = reference
        self.ref = reference
        self.repository = reference.repository

    @property
    def name(self) -> str:
        return self.ref.name

    def resolve(self) -> RawManifest:
        return self.client.get_manifest(self.ref)

    def get_manifest(self, digest: str) -> RawManifest:
        return self.client.get_manifest(self.ref.with_digest(digest))

    def manifest_exists(self, digest: str) -> bool:
        return self.client.head_manifest(self.ref.with_digest(digest)) is not None

    def tag_digest(self, tag: str) -> str | None:
        found = self.client.head_manifest(self.ref.with_tag(tag))
        return found.digest if found else None

    def list_tags(self) -> list[str]:
        return self.client.list_tags(self.repository)

    def blob_exists(self, digest: str) -> bool:
        return self.client.blob_exists(self.repository, digest)

    def get_blob(self, digest: str, offset: int = 0) -> Iterator[bytes]:
        return self.client.get_blob(self.repository, digest, offset=offset)

    def get_blob_bytes(self, digest: str) -> bytes:
        return self.client.get_blob_bytes(self.repository, digest)

    def blob_opener(self, digest: str) -> BlobOpener:
        return self.client.blob_opener(self.repository, digest)

    def put_blob(self, descriptor: Descriptor, source: BlobSource) -> int:
        return self.client.upload_blob(self.repository, descriptor.digest, descriptor.size, source)

    def mount_blob(self, digest: str, source: Target) -> bool:
        if not isinstance(source, RepositoryTarget) or source.client.host != self.client.host:
            return False
        if source.repository == self.repository:
            return self.blob_exists(digest)
        return self.client.mount_blob(self.repository, digest, source.repository)

    def put_manifest(
        self, raw: bytes, media_type: str, reference: str | None = None, *, root: bool = False
    ) -> str:
        return self.client.put_manifest(self.repository, raw, media_type, reference)

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        return self.client.referrers(self.repository, digest, artifact_type=artifact_type)

    def close(self) -> None:
        """Nothing to release: the client belongs to the ``Registries`` pool."""


def open_target(
    reference: ImageReference | str,
    registries: Registries | None = None,
    *,
    for_writing: bool = False,
) -> Target:
    """The target a reference names (``registries`` is required for registry references)."""
    if isinstance(reference, str):
        reference = parse_reference(reference)
    if isinstance(reference, Reference):
        if registries is None:
            raise RegistryError("a registry reference needs a Registries pool")
        return RepositoryTarget(registries.client(reference.registry), reference)
    if isinstance(reference, LayoutReference):
        # here, not at the top: the layout target into every registry copy (+8 modules, 20 ms)
        from promoter.registry.local.layout import LayoutTarget

        return LayoutTarget(reference, create=for_writing)
    if isinstance(reference, ArchiveReference):
        if for_writing:
            raise InputError(
                f"{reference}: docker-archive is read-only here",
                hint="write to a registry or to oci:PATH[:TAG] instead",
            )
        # here, not at the top: tarfile into every registry copy (+12 modules, 15 ms)
        from promoter.registry.local.archive import ArchiveSource

        return ArchiveSource(reference)
    raise InputError(f"unsupported reference {reference!r}")
