"""Copying what refers to a subject: OCI 1.1 referrers and cosign's tags.

Referrers are found in the source through the referrers API, or its
tag-schema fallback (an index tagged ``sha256-<hex>``), by the source adapter.
Each is copied by digest. When the destination does not answer the referrers
API itself, its ``sha256-<hex>`` index is written (the source's bytes when they
list exactly what is needed, else a merge with what the destination had).
Cosign's ``sha256-<hex>.sig``, ``.att`` and ``.sbom`` tags are copied as tags.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from promoter.errors import OperationError
from promoter.oci import Descriptor, Index, compute_digest, parse_manifest
from promoter.oci import mediatypes as mt
from promoter.oci.raw import RawManifest
from promoter.structs import replace
from promoter.transfer.endpoints import Destination, Source, TargetEndpoint
from promoter.transfer.progress import ProgressListener
from promoter.transfer.result import CopyResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from concurrent.futures import Executor

    from promoter.transfer.engine import CopyOptions

__all__ = ["COSIGN_SUFFIXES", "add_to_fallback_index", "copy_referrers", "fallback_tag"]

#: cosign's tag suffixes: signature, attestation, SBOM.
COSIGN_SUFFIXES = (".sig", ".att", ".sbom")
#: Referrers of referrers (a signature of an SBOM) are followed this deep.
MAX_DEPTH = 3


def fallback_tag(digest: str) -> str:
    """The referrers tag schema: ``sha256:abc`` -> ``sha256-abc``."""
    return digest.replace(":", "-", 1)


def copy_referrers(
    source: Source,
    subject: str,
    destination: Destination,
    options: CopyOptions,
    listener: ProgressListener,
    pool: Executor,
    result: CopyResult,
    depth: int = 0,
    *,
    copy_content: Callable[..., CopyResult],
) -> None:
    """Copy the referrers of ``subject`` (and theirs, to ``MAX_DEPTH``) and cosign tags,
    each by ``copy_content`` (the engine's, which calls this: passed in, not imported)."""
    if depth >= MAX_DEPTH:
        return
    plain = replace(options, referrers=False, no_clobber=False)
    found = source.referrers(subject)
    for referrer in found:
        sub = copy_content(source, referrer.digest, destination, [], plain, listener, pool=pool)
        result.absorb(sub)
        copy_referrers(
            source,
            referrer.digest,
            destination,
            options,
            listener,
            pool,
            result,
            depth + 1,
            copy_content=copy_content,
        )
    if found and not destination.indexes_referrers():
        _write_fallback_index(source, subject, found, destination, result)
    base = fallback_tag(subject)
    for suffix in COSIGN_SUFFIXES:
        tag = base + suffix
        if source.resolve(tag) is None:
            continue
        sub = copy_content(source, tag, destination, [tag], plain, listener, pool=pool)
        result.absorb(sub)


def _write_fallback_index(
    source: Source,
    subject: str,
    found: list[Descriptor],
    destination: Destination,
    result: CopyResult,
) -> None:
    tag = fallback_tag(subject)
    existing = destination.stored_manifest(tag)
    wanted = {d.digest for d in found}
    if existing is not None:
        have = _listed(existing)
        missing = [d for d in found if d.digest not in have]
        if not missing:
            return
        document = json.loads(existing.raw)
        document.setdefault("manifests", []).extend(d.to_dict() for d in missing)
        _put_index(destination, tag, document, result)
        return
    theirs = source.get_manifest(tag) if source.resolve(tag) is not None else None
    if theirs is not None and _listed(theirs) == wanted:
        destination.put_manifest(theirs, tag, root=False)
        result.tags_written.append(tag)
        return
    document = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [d.to_dict() for d in found],
    }
    _put_index(destination, tag, document, result)


def _listed(manifest: RawManifest) -> set[str]:
    parsed = parse_manifest(manifest.raw, manifest.media_type, digest=manifest.digest)
    return {d.digest for d in parsed.manifests} if isinstance(parsed, Index) else set()


def _put_index(
    destination: Destination, tag: str, document: dict[str, object], result: CopyResult
) -> None:
    raw = json.dumps(document, separators=(",", ":")).encode()
    fallback = RawManifest(raw, mt.OCI_INDEX, compute_digest(raw))
    destination.put_manifest(fallback, tag, root=False)
    result.tags_written.append(tag)


#: Read-modify-write rounds on the fallback index when another writer races us.
_INDEX_ATTEMPTS = 5


def _index_entries(manifest: RawManifest | None) -> list[dict[str, object]]:
    if manifest is None:
        return []
    parsed = parse_manifest(manifest.raw, manifest.media_type, digest=manifest.digest)
    if not isinstance(parsed, Index):
        return []
    document = json.loads(manifest.raw)
    return [m for m in document.get("manifests", []) if isinstance(m, dict)]


def add_to_fallback_index(endpoint: TargetEndpoint, subject: str, entry: Descriptor) -> None:
    """List ``entry`` in the ``sha256-<hex>`` index of ``subject`` (create or extend it).

    Registries offer no compare-and-swap on tags, so after writing, the index is
    read back; if a concurrent writer replaced it without our entry, merge again.
    """
    tag = fallback_tag(subject)
    for _ in range(_INDEX_ATTEMPTS):
        entries = _index_entries(endpoint.stored_manifest(tag))
        if any(e.get("digest") == entry.digest for e in entries):
            return
        document = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [*entries, entry.to_dict()],
        }
        raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        written = compute_digest(raw)
        endpoint.put_manifest(RawManifest(raw, mt.OCI_INDEX, written), tag, root=False)
        if endpoint.resolve(tag) == written:
            return  # nobody replaced it since: our entry is listed
    if not any(
        e.get("digest") == entry.digest for e in _index_entries(endpoint.stored_manifest(tag))
    ):
        raise OperationError(
            f"{endpoint.name}:{tag}: could not list the referrer {entry.digest} "
            "in the referrers index (concurrent writers)",
            hint="run again; the referrer itself is stored by digest",
        )
