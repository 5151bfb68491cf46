"""A transfer session: endpoints for references, sharing one client per registry.

Connections and tokens are reused across every copy of a session (a promotion
to three regions, fifty images in one run): one ``RegistryClient`` per host,
from ``promoter.registry.remote.pool.Registries``. So are blob homes: a blob that
several copies of a session need in one registry is uploaded once and mounted
by the others (``promoter.transfer.homes``).
"""

from __future__ import annotations

from collections.abc import Sequence

from promoter.errors import InputError, PromoterError
from promoter.oci import Reference, parse_reference
from promoter.oci.reference import ImageReference, LayoutReference
from promoter.registry.access.options import RegistryOptions
from promoter.registry.remote.pool import Registries
from promoter.registry.target import open_target
from promoter.structs import field, replace, struct
from promoter.transfer.endpoints import TargetEndpoint
from promoter.transfer.engine import CopyOptions, copy_content
from promoter.transfer.homes import BlobHomes
from promoter.transfer.progress import ProgressListener
from promoter.transfer.result import CopyResult

__all__ = ["BatchReport", "TransferSession", "copy_image", "copy_many"]


class TransferSession:
    """Copies between references; closes every client and target it opened."""

    def __init__(self, registry_options: RegistryOptions | None = None) -> None:
        self.registries = Registries(registry_options or RegistryOptions.from_environment())
        self._opened: list[TargetEndpoint] = []
        #: Where blobs went in each destination registry, for every copy of the session.
        self.homes = BlobHomes()

    def __enter__(self) -> TransferSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close local targets, then every registry connection pool."""
        for endpoint in self._opened:
            endpoint.target.close()
        self._opened.clear()
        self.registries.close()

    def _open(self, reference: ImageReference, *, for_writing: bool) -> TargetEndpoint:
        endpoint = TargetEndpoint(open_target(reference, self.registries, for_writing=for_writing))
        self._opened.append(endpoint)
        return endpoint

    def source(self, reference: ImageReference) -> tuple[TargetEndpoint, str]:
        """The source endpoint and what to copy from it (a tag or a digest)."""
        endpoint = self._open(reference, for_writing=False)
        if isinstance(reference, Reference):
            return endpoint, reference.identifier
        # A layout tag, the only image of a layout, or an archive's image.
        return endpoint, endpoint.target.resolve().digest

    def destination(self, reference: ImageReference) -> tuple[TargetEndpoint, list[str]]:
        """The destination endpoint and the tags to write there."""
        endpoint = self._open(reference, for_writing=True)
        if isinstance(reference, Reference):
            return endpoint, [reference.tag] if reference.tag and not reference.digest else []
        if isinstance(reference, LayoutReference):
            return endpoint, [reference.tag] if reference.tag else []
        raise InputError(f"{reference} cannot be a destination")

    def copy(
        self,
        source: str | ImageReference,
        destination: str | ImageReference,
        options: CopyOptions | None = None,
        listener: ProgressListener | None = None,
    ) -> CopyResult:
        """Copy ``source`` to ``destination`` by digest; see ``copy_content``."""
        src_ref = parse_reference(source) if isinstance(source, str) else source
        dst_ref = parse_reference(destination) if isinstance(destination, str) else destination
        src, identifier = self.source(src_ref)
        dst, tags = self.destination(dst_ref)
        wanted = dst_ref.digest if isinstance(dst_ref, Reference) else None
        if wanted is not None:
            found = src.resolve(identifier)
            if found != wanted:
                raise InputError(
                    f"{dst_ref} names digest {wanted}, but {src_ref} is {found}",
                    hint="give the destination a tag, or no digest",
                )
        options = options or CopyOptions()
        if options.homes is None:
            options = replace(options, homes=self.homes)
        if isinstance(dst_ref, LayoutReference) and not options.preserve_digests:
            result = _copy_converted(src, identifier, dst, tags, options, listener)
        else:
            result = copy_content(src, identifier, dst, tags, options, listener)
        result.source, result.destination = str(src_ref), str(dst_ref)
        return result


def _copy_converted(
    src: TargetEndpoint,
    identifier: str,
    dst: TargetEndpoint,
    tags: list[str],
    options: CopyOptions,
    listener: ProgressListener | None,
) -> CopyResult:
    """Into an OCI layout with OCI media types (what skopeo and umoci read); the result
    names the source digest too."""
    # here, not at the top: only a copy into a layout converts; the conversion modules
    # are 2 ms of every copy's start otherwise
    from promoter.transfer.convert import OciSource

    converting = OciSource(src)
    top = converting.get_manifest(identifier)  # kept: the engine asks for it again
    original = converting.original(top.digest)
    if original is not None and original.digest != top.digest and options.referrers:
        raise InputError(
            f"--referrers into {dst.name}: the referrers name {original.digest}, which this "
            f"copy converts to OCI media types (as {top.digest})",
            hint="add --preserve-digests to copy the content and its referrers as they are",
        )
    # By the converted digest: the engine compares it with what the layout's tags name.
    result = copy_content(converting, top.digest, dst, tags, options, listener)
    if original is not None:
        result.source_digest, result.source_media_type = original.digest, original.media_type
    return result


def copy_image(
    source: str | ImageReference,
    destination: str | ImageReference,
    *,
    options: CopyOptions | None = None,
    registry_options: RegistryOptions | None = None,
    listener: ProgressListener | None = None,
) -> CopyResult:
    """Copy one image, index or artifact by digest (``promoter copy SRC DST``)."""
    with TransferSession(registry_options) as session:
        return session.copy(source, destination, options, listener)


@struct
class BatchReport:
    """The copies of a batch, in input order, and the failures by position."""

    results: list[CopyResult | None] = field(default_factory=list)
    errors: dict[int, PromoterError] = field(default_factory=dict)

    @property
    def first_error(self) -> PromoterError | None:
        """The failure of the earliest pair, if any failed."""
        return self.errors[min(self.errors)] if self.errors else None


def copy_many(
    pairs: Sequence[tuple[str, str]],
    *,
    options: CopyOptions | None = None,
    registry_options: RegistryOptions | None = None,
    listener: ProgressListener | None = None,
) -> BatchReport:
    """Copy many (source, destination) pairs in one session, ``options.jobs`` at a time.

    Connections, tokens and blob homes are shared: a blob several lines need in
    one registry crosses to it once, and the batch's destination repositories
    are the likely homes of blobs copied there before. One failure does not
    stop the others.
    """
    options = options or CopyOptions()
    batch = BatchReport(results=[None] * len(pairs))
    with TransferSession(registry_options) as session:
        _know_destinations(session.homes if options.homes is None else options.homes, pairs)

        def one(position: int) -> None:
            source, destination = pairs[position]
            try:
                batch.results[position] = session.copy(source, destination, options, listener)
            except PromoterError as error:
                batch.errors[position] = error

        from concurrent.futures import ThreadPoolExecutor  # a batch only (it imports logging)

        with ThreadPoolExecutor(max(1, options.jobs), thread_name_prefix="image") as pool:
            list(pool.map(one, range(len(pairs))))
    return batch


def _know_destinations(homes: BlobHomes, pairs: Sequence[tuple[str, str]]) -> None:
    """The batch's registry destinations, as candidate homes (what does not parse is
    left for the copy of that line to refuse)."""
    for _, destination in pairs:
        try:
            reference = parse_reference(destination)
        except PromoterError:
            continue
        if isinstance(reference, Reference):
            homes.know(reference.registry, [reference.repository])
