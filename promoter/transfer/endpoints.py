"""The copy engine's seams: a ``Source`` it reads and a ``Destination`` it writes.

``TargetEndpoint`` implements both over any ``promoter.registry.target.Target``
(a registry repository, an OCI image layout, a docker archive), adding what the
engine asks in its own terms: digests of tags, mounts between endpoints, and
whether the destination indexes referrers itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from promoter.errors import RegistryError
from promoter.oci import Descriptor
from promoter.oci import mediatypes as mt
from promoter.oci.digest import is_digest
from promoter.oci.raw import BlobOpener, RawManifest
from promoter.registry.target import RepositoryTarget, Target
from promoter.registry.transport.auth import pull_scope
from promoter.registry.transport.layers import RegistryRequest
from promoter.structs import Protocol

__all__ = ["BlobOpener", "Destination", "Source", "TargetEndpoint"]


class Source(Protocol):
    """Where content is read from."""

    name: str

    def resolve(self, identifier: str) -> str | None:
        """The digest a tag or digest names here (cheap: a HEAD), or None if absent."""
        ...

    def get_manifest(self, identifier: str) -> RawManifest:
        """A manifest by digest (verified) or tag."""
        ...

    def open_blob(self, descriptor: Descriptor, offset: int = 0) -> Iterable[bytes]:
        """Stream a blob in chunks from ``offset`` (a resumed upload reopens it)."""
        ...

    def referrers(self, digest: str) -> list[Descriptor]:
        """Manifests whose ``subject`` is ``digest`` ([] when none)."""
        ...


class Destination(Protocol):
    """Where content is written to."""

    name: str

    def resolve(self, identifier: str) -> str | None:
        """The digest a tag or digest names here, or None."""
        ...

    def has_blob(self, descriptor: Descriptor) -> bool:
        """Whether the blob is already here."""
        ...

    def can_mount(self, source: Source) -> bool:
        """Whether blobs of ``source`` can be mounted here (same registry)."""
        ...

    def mount_blob(self, descriptor: Descriptor, source: Source) -> bool:
        """Try a cross-repository mount from ``source``; True when mounted."""
        ...

    def place(self) -> tuple[str, str] | None:
        """``(registry host, repository)`` for a registry repository (where blob homes
        apply), None for a local target."""
        ...

    def mount_from(self, descriptor: Descriptor, repository: str) -> bool:
        """Try a mount from another ``repository`` of this registry; False when the
        registry declined (its upload session is kept for the upload that follows)."""
        ...

    def untagged(self) -> bool:
        """Whether this run found the repository without tags (its tags list answered
        404): no blob there to ask about but the run's own (and untagged content's)."""
        ...

    def write_blob(self, descriptor: Descriptor, opener: BlobOpener) -> int:
        """Stream a blob here (``opener(offset)`` gives its content from an offset, so
        a broken upload resumes) and commit it under its digest; return bytes sent."""
        ...

    def pipe_blob(
        self, descriptor: Descriptor, source: Source, advanced: Callable[[int], None]
    ) -> bool:
        """Stream a large blob straight from ``source``'s registry and commit it; False
        (nothing written) when that does not apply and ``write_blob`` should."""
        ...

    def put_manifest(self, manifest: RawManifest, tag: str | None, *, root: bool) -> None:
        """Store a manifest by digest, or under ``tag``; ``root`` marks an untagged top."""
        ...

    def stored_manifest(self, identifier: str) -> RawManifest | None:
        """A manifest stored here, or None."""
        ...

    def indexes_referrers(self) -> bool:
        """Whether this store answers referrer queries itself; when not, the copy
        maintains the ``sha256-<hex>`` tag-schema index."""
        ...


class TargetEndpoint:
    """A ``Source`` and ``Destination`` over a ``Target``."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.name = target.name

    def resolve(self, identifier: str) -> str | None:
        """HEAD by digest or tag."""
        if is_digest(identifier):
            return identifier if self.target.manifest_exists(identifier) else None
        return self.target.tag_digest(identifier)

    def get_manifest(self, identifier: str) -> RawManifest:
        """GET by digest, or by tag (a registry: one GET; elsewhere: the tag's digest)."""
        if not is_digest(identifier) and isinstance(self.target, RepositoryTarget):
            return self.target.client.get_manifest(self.target.ref.with_tag(identifier))
        if not is_digest(identifier):
            digest = self.target.tag_digest(identifier)
            if digest is None:
                raise RegistryError(
                    f"{self.name}:{identifier}: tag not found",
                    status=404,
                    code="MANIFEST_UNKNOWN",
                    reference=f"{self.name}:{identifier}",
                )
            identifier = digest
        return self.target.get_manifest(identifier)

    def open_blob(self, descriptor: Descriptor, offset: int = 0) -> Iterable[bytes]:
        """Stream from ``offset``.

        Read from a registry, the bytes are not hashed here: every destination
        checks them against the digest as it commits them (a registry on
        ``PUT ?digest=``, a layout before renaming into place), and hashing twice
        would cost a second of CPU per GiB.
        """
        if isinstance(self.target, RepositoryTarget):
            target = self.target
            return target.client.get_blob(
                target.repository, descriptor.digest, offset=offset, verify=False
            )
        return self.target.get_blob(descriptor.digest, offset)

    def referrers(self, digest: str) -> list[Descriptor]:
        """The referrers API, its tag-schema fallback, or a layout's scan."""
        return self.target.referrers(digest)

    def has_blob(self, descriptor: Descriptor) -> bool:
        """HEAD the blob.

        (Not a mount from the repository itself, which would answer in one
        request too and open the upload session when the blob is missing: on
        distribution a mount rewrites the blob's link file, and a concurrent copy
        verifying a manifest that needs the blob can read the link half-written.)
        """
        return self.target.blob_exists(descriptor.digest)

    def can_mount(self, source: Source) -> bool:
        """Both in one registry (a mount moves no bytes)."""
        mine, theirs = self.target, getattr(source, "target", None)
        return (
            isinstance(mine, RepositoryTarget)
            and isinstance(theirs, RepositoryTarget)
            and mine.client.host == theirs.client.host
        )

    def mount_blob(self, descriptor: Descriptor, source: Source) -> bool:
        """Cross-repository mount; False when the registry declined."""
        theirs = getattr(source, "target", None)
        if theirs is None:
            return False
        return self.target.mount_blob(descriptor.digest, theirs)

    def place(self) -> tuple[str, str] | None:
        """``(host, repository)`` of a registry repository; None for a layout."""
        target = self.target
        if isinstance(target, RepositoryTarget):
            return target.client.host, target.repository
        return None

    def untagged(self) -> bool:
        """The run's memo of the host: the repository's tags list answered 404."""
        target = self.target
        return isinstance(target, RepositoryTarget) and target.client.memo.untagged(
            target.repository
        )

    def mount_from(self, descriptor: Descriptor, repository: str) -> bool:
        """A mount from ``repository`` in this registry; False when declined.

        A registry declines with 202 and an upload session (kept for the upload).
        An error answer is a decline too, never a failure: a mount only saves an
        upload (401/403: the credentials may not read that repository; 404/405: a
        registry without mounts; a 5xx the upload may not meet). A broken
        connection is raised: the upload would meet it too.
        """
        target = self.target
        if not isinstance(target, RepositoryTarget) or repository == target.repository:
            return False
        try:
            return target.client.mount_blob(target.repository, descriptor.digest, repository)
        except RegistryError:
            return False

    def write_blob(self, descriptor: Descriptor, opener: BlobOpener) -> int:
        """Stream the blob in (resumable through ``opener``)."""
        return self.target.put_blob(descriptor, opener)

    def pipe_blob(
        self, descriptor: Descriptor, source: Source, advanced: Callable[[int], None]
    ) -> bool:
        """From one registry into this one through ``promoter.registry.remote.pipe``, for
        blobs of ``PIPE_MIN_SIZE`` and more; False when it does not apply."""
        # here, not at the top: http.client into copies crossing no registry (+21 modules, 10 ms)
        from promoter.registry.remote.pipe import PIPE_MIN_SIZE, PipeUnavailable, pipe_blob

        mine, theirs = self.target, getattr(source, "target", None)
        if (
            descriptor.size < PIPE_MIN_SIZE
            or not isinstance(mine, RepositoryTarget)
            or not isinstance(theirs, RepositoryTarget)
        ):
            return False
        try:
            pipe_blob(
                theirs.client, theirs.repository, mine.client, mine.repository, descriptor, advanced
            )
        except PipeUnavailable:
            return False
        return True

    def put_manifest(self, manifest: RawManifest, tag: str | None, *, root: bool) -> None:
        """Store the bytes as they are."""
        self.target.put_manifest(manifest.raw, manifest.media_type, tag, root=root)

    def stored_manifest(self, identifier: str) -> RawManifest | None:
        """The manifest ``identifier`` names here, or None; always asked of the registry
        (a read-modify-write of the referrers index must not trust the run's tags list)."""
        if isinstance(self.target, RepositoryTarget) and not is_digest(identifier):
            ref = self.target.ref.with_tag(identifier)
            found = self.target.client.head_manifest(ref, fresh=True)
            return None if found is None else self.get_manifest(found.digest)
        digest = self.resolve(identifier)
        return None if digest is None else self.get_manifest(digest)

    def indexes_referrers(self) -> bool:
        """Layouts are scanned, so yes; a registry only if it has the referrers API
        (probed once per host and run: concurrent copies wait for the one probe)."""
        if not isinstance(self.target, RepositoryTarget):
            return True
        memo = self.target.client.memo
        with memo.probing:
            if memo.referrers_api is None:
                memo.referrers_api = _probe_referrers_api(self.target)
            return memo.referrers_api


#: Any well-formed digest will do for the probe: a registry with the API lists
#: its (possibly empty) referrers, one without answers 404.
_PROBE_DIGEST = "sha256:" + "0" * 64


def _probe_referrers_api(target: RepositoryTarget) -> bool:
    client = target.client
    response = client.transport.send(
        RegistryRequest(
            "GET",
            f"/v2/{target.repository}/referrers/{_PROBE_DIGEST}",
            scopes=(pull_scope(target.repository),),
            reference=f"{client.host}/{target.repository}",
            action="probe referrers API",
            expect=(200, 400, 404, 405),
            headers={"Accept": mt.OCI_INDEX},
        )
    )
    content_type = response.headers.get("Content-Type", "")
    return response.status_code == 200 and mt.OCI_INDEX in content_type
