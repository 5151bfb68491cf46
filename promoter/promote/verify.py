"""Checking that a destination holds an image's whole graph before any tag is written."""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import Executor

from promoter.errors import OperationError
from promoter.oci import Descriptor
from promoter.oci.raw import RawManifest
from promoter.structs import struct
from promoter.transfer.endpoints import Source, TargetEndpoint
from promoter.transfer.graph import walk

__all__ = ["Content", "content_of", "verify_content"]


@struct(frozen=True)
class Content:
    """Every manifest digest and blob of one image (children included)."""

    top: RawManifest
    manifests: tuple[str, ...]
    blobs: tuple[Descriptor, ...]


class _Nothing:
    """A destination that holds nothing, so the walk lists the whole graph."""

    name = "(none)"

    def resolve(self, identifier: str) -> str | None:
        return None


def content_of(source: Source, top: RawManifest, pool: Executor) -> Content:
    """The whole graph under ``top`` as the source has it."""
    graph = walk(source, top, _Nothing(), pool, check_children=False)  # type: ignore[arg-type]
    return Content(top, tuple(m.digest for m in graph.manifests), tuple(graph.blobs.values()))


def verify_content(
    destination: TargetEndpoint,
    content: Content,
    pool: Executor,
    known: Collection[str] = (),
) -> None:
    """Raise ``OperationError`` unless every manifest and blob is at ``destination``.

    ``known`` are the digests this destination confirmed moments ago, during
    this promotion's copy: it answered them present (HEAD 200) or accepted them
    as written (201 with the digest). The rest is asked: a HEAD per manifest
    and per blob, reads only (never the copy engine's mount-from-itself
    presence check, which writes on the registry).
    """
    manifests_asked = [d for d in content.manifests if d not in known]
    blobs_asked = [b for b in content.blobs if b.digest not in known]
    manifests = list(pool.map(destination.resolve, manifests_asked))
    missing = [d for d, found in zip(manifests_asked, manifests, strict=True) if found is None]
    target = destination.target
    blobs = list(pool.map(lambda b: target.blob_exists(b.digest), blobs_asked))
    missing += [b.digest for b, found in zip(blobs_asked, blobs, strict=True) if not found]
    if missing:
        raise OperationError(
            f"{destination.name} lacks {len(missing)} part(s) of {content.top.digest} after "
            f"the copy (first: {missing[0]}); no tag was written",
            hint="re-run: the next run copies what is missing",
        )
