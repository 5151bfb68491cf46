"""The copy engine: a content graph from a source to a destination, by digest.

Order (go-containerregistry's ``remote.Write`` order, STYLE §5):

1. Get the source manifest (by tag: one GET; by digest: nothing to ask) while asking the
   destination for its tags: when every tag already points at the source digest, stop
   (a re-run costs one request per side and image, and imports no graph walk).
   ``no_clobber`` refuses here, before anything is written, to move a tag.
2. Walk the graph; skip child manifests the destination already has.
3. Blobs in parallel (bounded by ``jobs``): skip when present, mount when source and
   destination share a registry; with the run's ``BlobHomes``, mount from the repository
   of the destination registry this run uploaded the blob to (waiting for that upload) or
   from a likely home; else stream source -> destination.
4. Manifests, children before parents, by digest; tags last.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from promoter.errors import NetworkError, RegistryError, TagConflict
from promoter.oci import Descriptor
from promoter.oci.digest import DigestMismatchError, is_digest
from promoter.oci.raw import RawManifest
from promoter.registry.access.retry import RetryPolicy
from promoter.registry.transport.deadline import DeadlineExceeded
from promoter.registry.transport.failures import is_retryable_error
from promoter.structs import field, replace, struct
from promoter.transfer.endpoints import Destination, Source
from promoter.transfer.homes import BlobHomes
from promoter.transfer.progress import BlobAction, ProgressListener, SilentProgress
from promoter.transfer.result import CopyResult
from promoter.transfer.workers import Workers, in_background

TYPE_CHECKING = False
if TYPE_CHECKING:
    from concurrent.futures import Executor

__all__ = ["CopyOptions", "copy_content", "copy_graph", "write_tags"]

#: Attempts for one streamed blob (each attempt re-reads it from the source).
BLOB_ATTEMPTS = 3
#: The backoff between whole-blob attempts. Each attempt's requests were already
#: retried by the registry client, so the bound is in attempts, not in time (a
#: large blob's attempt may take minutes).
BLOB_RESTARTS = RetryPolicy(
    max_attempts=BLOB_ATTEMPTS, base_delay=0.4, max_delay=2.0, total_time=math.inf
)


@struct(frozen=True)
class CopyOptions:
    """How to copy: parallel blobs, referrers, whether tags may move.

    ``homes``: the run's ``BlobHomes``, shared by every copy of a run so that each blob
    crosses to a destination registry once (None: each copy on its own).
    ``preserve_digests``: write Docker media types to an OCI layout as they are (default:
    a copy to a layout converts them to OCI ones, as skopeo does)."""

    jobs: int = 4
    referrers: bool = False
    no_clobber: bool = False
    preserve_digests: bool = False
    blob_attempts: int = BLOB_ATTEMPTS
    homes: BlobHomes | None = field(default=None, compare=False)


def copy_content(
    source: Source,
    identifier: str,
    destination: Destination,
    tags: Sequence[str],
    options: CopyOptions | None = None,
    listener: ProgressListener | None = None,
    *,
    pool: Executor | None = None,
    present: bool | None = None,
) -> CopyResult:
    """Copy what ``identifier`` (tag or digest) names in ``source`` to ``destination``.

    ``tags`` are written at the destination last (none: the content is stored
    by digest only). ``present`` is what the caller already knows of a digest
    copied without tags (a promotion plan asked moments ago): True, the
    destination holds it; False, it does not; None, ask (one HEAD). Raises
    ``TagConflict`` under ``no_clobber`` when a tag already points elsewhere,
    ``OperationError`` subclasses when the copy fails.
    """
    options = options or CopyOptions()
    listener = listener or SilentProgress()
    started = time.monotonic()
    result = CopyResult(source.name, destination.name)
    own_pool = pool is None
    executor = pool or Workers(options.jobs, thread_name_prefix="copy")
    try:
        _copy(
            source,
            identifier,
            destination,
            list(tags),
            options,
            listener,
            executor,
            result,
            present,
        )
    finally:
        if own_pool:
            executor.shutdown(wait=True, cancel_futures=True)
    result.duration = time.monotonic() - started
    return result


def _copy(
    source: Source,
    identifier: str,
    destination: Destination,
    tags: list[str],
    options: CopyOptions,
    listener: ProgressListener,
    pool: Executor,
    result: CopyResult,
    present: bool | None = None,
) -> None:
    if is_digest(identifier):
        digest, top = identifier, None
        if tags or present is None:
            current = _current_tags(destination, tags or [digest], pool)
        else:
            current = {digest: digest} if present else {}
    else:
        # A tag costs one GET at the source, no dearer than a HEAD, and it brings
        # the manifest the copy needs; the destination's tags are asked meanwhile.
        fetched = in_background(source.get_manifest, identifier)
        try:
            current = _current_tags(destination, tags, pool)
        except BaseException:
            with contextlib.suppress(Exception):
                fetched()  # the GET ends with the copy; this failure is the one raised
            raise
        top = fetched()
        digest = top.digest
        if not tags:
            current = _current_tags(destination, [digest], pool)
    stale = [t for t in tags if current.get(t) != digest]
    if options.no_clobber:
        _refuse_moves(destination, stale, current, digest)
    result.digest = digest
    if not stale and (tags or digest in current):
        result.up_to_date = True
        if present is None:
            result.confirm(digest)  # the destination answered for it just now
        result.media_type = top.media_type if top is not None else ""
    else:
        top = top or source.get_manifest(digest)
        result.media_type = top.media_type
        # Without a HEAD of the top by digest: a new tag is the common case, and
        # content that is already there is found blob by blob, moving nothing.
        copy_graph(source, top, destination, options, listener, pool, result, stale)
    if options.referrers:
        # here, not at the top: referrers are copied on request only (issue #24)
        from promoter.transfer.referrers import copy_referrers

        copy_referrers(
            source, digest, destination, options, listener, pool, result, copy_content=copy_content
        )
    listener.finished(destination.name, digest)


def _current_tags(
    destination: Destination, identifiers: list[str], pool: Executor
) -> dict[str, str]:
    if len(identifiers) == 1:  # this thread asks (a pool would start for one request)
        found = [destination.resolve(identifiers[0])]
    else:
        found = list(pool.map(destination.resolve, identifiers))
    return {i: d for i, d in zip(identifiers, found, strict=True) if d is not None}


def _refuse_moves(
    destination: Destination, stale: list[str], current: dict[str, str], digest: str
) -> None:
    for tag in stale:
        there = current.get(tag)
        if there is not None and there != digest:
            raise TagConflict(
                f"{destination.name}:{tag} already points at {there}, not {digest}",
                hint="drop --no-clobber to move the tag, or copy to another tag",
            )


def copy_graph(
    source: Source,
    top: RawManifest,
    destination: Destination,
    options: CopyOptions,
    listener: ProgressListener,
    pool: Executor,
    result: CopyResult,
    tags: Sequence[str],
) -> None:
    """Copy ``top`` and everything under it, then write ``tags``."""
    # here, not at the top: a copy with something to do walks the graph; a re-run does not
    from promoter.transfer.graph import walk

    graph = walk(source, top, destination, pool)
    result.manifests_present += graph.present
    result.confirm(*graph.found)
    blobs = list(graph.blobs.values())
    listener.planned(source.name, destination.name, len(blobs), sum(b.size for b in blobs))
    mountable = destination.can_mount(source)
    from concurrent.futures import as_completed, wait  # a copy with work to do: the pool runs

    futures = [
        pool.submit(_copy_blob, source, destination, blob, mountable, options, listener, result)
        for blob in blobs
    ]
    for done in as_completed(futures):
        failure = done.exception()
        if failure is not None:
            for pending in futures:
                pending.cancel()  # those not started yet; running ones finish
            wait(futures)
            raise failure
    for manifest in graph.manifests:
        is_top = manifest.digest == top.digest
        if is_top and tags:
            continue  # the tags below store it; a PUT by tag is its last step
        destination.put_manifest(manifest, None, root=is_top)
        result.manifests_written.append(manifest.digest)
        result.confirm(manifest.digest)
        listener.manifest_written(manifest.digest, None)
    write_tags(destination, top, tags, listener, result)


def write_tags(
    destination: Destination,
    top: RawManifest,
    tags: Sequence[str],
    listener: ProgressListener,
    result: CopyResult,
) -> None:
    """Point ``tags`` at ``top`` (already stored, or stored by this very PUT)."""
    for tag in tags:
        destination.put_manifest(top, tag, root=False)
        if top.digest not in result.manifests_written:
            result.manifests_written.append(top.digest)
        result.tags_written.append(tag)
        result.confirm(top.digest)
        listener.manifest_written(top.digest, tag)


def _copy_blob(
    source: Source,
    destination: Destination,
    blob: Descriptor,
    mountable: bool,
    options: CopyOptions,
    listener: ProgressListener,
    result: CopyResult,
) -> None:
    homes = options.homes
    place = destination.place() if homes is not None else None
    # HEAD first, even where a mount would do: a mount of a blob that is there
    # rewrites its link (distribution), which a concurrent reader may catch empty.
    # Not even that where this run saw the blob there already, nor in a repository
    # whose tags list answered 404 (RunMemo): no image there, so no blob but what the
    # run put there since (homes) and what untagged content left (sent again).
    tracked = homes is not None and place is not None
    if homes is not None and place is not None and homes.holds(*place, blob.digest):
        action: BlobAction = "skipped"
    elif not (tracked and destination.untagged()) and destination.has_blob(blob):
        if homes is not None and place is not None:
            homes.found(*place, blob.digest)
        action = "skipped"
    elif mountable and destination.mount_blob(blob, source):
        if homes is not None and place is not None:
            homes.found(*place, blob.digest)
        action = "mounted"
    elif homes is None or place is None:
        _stream_blob(source, destination, blob, options, listener, result)
        action = "copied"
    else:
        action = _via_homes(homes, place, source, destination, blob, options, listener, result)
    result.count_blob(action, blob.size, blob.digest)
    listener.blob_finished(blob, action)


def _via_homes(
    homes: BlobHomes,
    place: tuple[str, str],
    source: Source,
    destination: Destination,
    blob: Descriptor,
    options: CopyOptions,
    listener: ProgressListener,
    result: CopyResult,
) -> BlobAction:
    """The blob crosses to this registry once per run: wait for another copy's upload
    of it and mount from there, or mount from a likely home, else upload (and let
    the others mount from here)."""
    ticket = homes.acquire(place[0], place[1], blob.digest)
    if ticket.present:
        return "skipped"  # another copy of this run put it in this very repository
    try:
        if ticket.mount_from is not None and destination.mount_from(blob, ticket.mount_from):
            ticket.done(mounted=True)
            return "mounted"
        # declined: the upload below uses the session the registry answered with
        _stream_blob(source, destination, blob, options, listener, result)
    except BaseException:
        ticket.failed()
        raise
    ticket.done()
    return "copied"


def _stream_blob(
    source: Source,
    destination: Destination,
    blob: Descriptor,
    options: CopyOptions,
    listener: ProgressListener,
    result: CopyResult,
) -> None:
    """Move the blob's bytes: through a pipe (large, registry to registry), else the
    regular path."""

    def opener(offset: int) -> Iterable[bytes]:
        if offset:
            listener.blob_restarted(blob, f"resuming at byte {offset}")
        return _reporting(source.open_blob(blob, offset), blob, listener)

    listener.blob_started(blob)
    try:
        # Registry to registry, a large blob moves through a pipe first.
        piped = destination.pipe_blob(blob, source, lambda n: listener.blob_advanced(blob, n))
    except (NetworkError, RegistryError) as error:
        if not _worth_another_try(error):
            raise
        piped = False
        result.count_retry()
        listener.blob_restarted(blob, f"{error.message}; starting over")
    if not piped:
        _write_blob(source, destination, blob, opener, options, listener, result)


def _write_blob(
    source: Source,
    destination: Destination,
    blob: Descriptor,
    opener: Callable[[int], Iterable[bytes]],
    options: CopyOptions,
    listener: ProgressListener,
    result: CopyResult,
) -> None:
    """The regular path: the registry client retries each request and resumes
    broken streams; a whole-blob restart is the last resort for a stream that
    broke beyond that (a source that went away mid-read, content that did not hash)."""
    attempts = replace(BLOB_RESTARTS, max_attempts=options.blob_attempts).start(result.count_retry)
    while True:
        try:
            destination.write_blob(blob, opener)
            return
        except (NetworkError, DigestMismatchError) as error:
            if isinstance(error, DeadlineExceeded) or not attempts.another():
                raise  # a transfer under its speed floor is final, as a spent deadline
            listener.blob_restarted(blob, error.message)
        except RegistryError as error:
            if error.code != "DIGEST_INVALID":
                raise
            # The destination hashed what the source sent: the source is to blame.
            raise DigestMismatchError(
                f"{source.name}: the registry sent blob {blob.digest} with content that does "
                f"not match that digest ({destination.name} refused it)",
                reference=f"{source.name}@{blob.digest}",
                code="DIGEST_INVALID",
            ) from None
        listener.blob_started(blob)


def _worth_another_try(error: NetworkError | RegistryError) -> bool:
    """A pipe's failure the regular path may get past: a broken connection, content
    that did not hash, or what the retry table calls transient (a busy registry;
    never a 401 or a 501)."""
    if isinstance(error, RegistryError) and (
        isinstance(error, DigestMismatchError) or error.code == "DIGEST_INVALID"
    ):
        return True
    return is_retryable_error(error)


def _reporting(
    chunks: Iterable[bytes], blob: Descriptor, listener: ProgressListener
) -> Iterator[bytes]:
    for chunk in chunks:
        listener.blob_advanced(blob, len(chunk))
        yield chunk
