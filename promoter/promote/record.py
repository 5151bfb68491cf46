"""The promotion record: an OCI artifact attached to the promoted image as a referrer.

An OCI image manifest with ``artifactType``
``application/vnd.promoter.promotion.v1+json``, the empty config
(``application/vnd.oci.empty.v1+json``, ``{}``), one layer holding the JSON
record (``kind``: promotion or rollback, source, digest, tags, ``previous``: per tag
written the digest it named before, policy results, git commit, CI run URL,
time, promoter version; a rollback's ``reason`` and ``skippedChecks``) and
``subject`` = the promoted manifest. It is pushed by
digest; where the registry has no referrers API (distribution 2.8) the
``sha256-<hex>`` tag-schema index is created or extended to list it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from promoter.errors import OperationError
from promoter.oci import Descriptor, compute_digest, parse_manifest
from promoter.oci import mediatypes as mt
from promoter.oci.manifest import Index
from promoter.registry.target import RepositoryTarget
from promoter.transfer.endpoints import FetchedManifest, TargetEndpoint

__all__ = [
    "PROMOTION_ARTIFACT_TYPE",
    "RecordWriter",
    "add_to_fallback_index",
    "fallback_tag",
    "record_manifest",
]

#: The artifact type of promotion records (and the media type of their one layer).
PROMOTION_ARTIFACT_TYPE = "application/vnd.promoter.promotion.v1+json"
_CREATED = "org.opencontainers.image.created"
_EMPTY_DIGEST = compute_digest(mt.EMPTY_JSON)
#: Read-modify-write rounds on the fallback index when another writer races us.
_INDEX_ATTEMPTS = 5


def fallback_tag(digest: str) -> str:
    """The referrers tag schema: ``sha256:abc`` -> ``sha256-abc``."""
    return digest.replace(":", "-", 1)


def _dumps(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def record_manifest(subject: Descriptor, payload: bytes, created: str) -> tuple[bytes, Descriptor]:
    """The record's manifest bytes and the descriptor the referrers index lists."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "artifactType": PROMOTION_ARTIFACT_TYPE,
        "config": {
            "mediaType": mt.OCI_EMPTY,
            "digest": _EMPTY_DIGEST,
            "size": len(mt.EMPTY_JSON),
        },
        "layers": [
            {
                "mediaType": PROMOTION_ARTIFACT_TYPE,
                "digest": compute_digest(payload),
                "size": len(payload),
            }
        ],
        "subject": {
            "mediaType": subject.media_type,
            "digest": subject.digest,
            "size": subject.size,
        },
        "annotations": {_CREATED: created},
    }
    raw = _dumps(manifest)
    descriptor = Descriptor(
        mt.OCI_MANIFEST,
        compute_digest(raw),
        len(raw),
        annotations={_CREATED: created},
        artifact_type=PROMOTION_ARTIFACT_TYPE,
    )
    return raw, descriptor


class RecordWriter:
    """Pushes promotion records for one run, remembering per registry host what it learnt.

    Every record needs the empty config blob ``{}`` in its repository: after the
    first upload to a host it is mounted from there (a link, no data written).
    Whether a host answers the referrers API is asked once per host.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._empty_home: dict[str, str] = {}
        self._referrers_api: dict[str, bool] = {}

    def push(
        self,
        endpoint: TargetEndpoint,
        subject: Descriptor,
        record: Mapping[str, Any],
        created: str,
    ) -> str:
        """Push the record referring to ``subject``; return the record manifest's digest."""
        payload = json.dumps(dict(record), indent=2, sort_keys=True).encode()
        raw, descriptor = record_manifest(subject, payload, created)
        self._put_empty(endpoint)
        _upload(endpoint, payload, PROMOTION_ARTIFACT_TYPE)  # new content: no HEAD first
        manifest = FetchedManifest(raw, mt.OCI_MANIFEST, descriptor.digest)
        endpoint.put_manifest(manifest, None, root=True)
        if not self._indexes_referrers(endpoint):
            add_to_fallback_index(endpoint, subject.digest, descriptor)
        return descriptor.digest

    def _host(self, endpoint: TargetEndpoint) -> tuple[str, str]:
        target = endpoint.target
        if isinstance(target, RepositoryTarget):
            return target.client.host, target.repository
        return endpoint.name, ""

    def _put_empty(self, endpoint: TargetEndpoint) -> None:
        host, repository = self._host(endpoint)
        with self._lock:
            home = self._empty_home.get(host)
        if home == repository:
            return  # uploaded here earlier in this run
        target = endpoint.target
        mounted = (
            home is not None
            and isinstance(target, RepositoryTarget)
            and target.client.mount_blob(repository, _EMPTY_DIGEST, home)
        )
        if not mounted:
            _upload(endpoint, mt.EMPTY_JSON, mt.OCI_EMPTY)
        with self._lock:
            self._empty_home.setdefault(host, repository)

    def _indexes_referrers(self, endpoint: TargetEndpoint) -> bool:
        host, _ = self._host(endpoint)
        with self._lock:
            known = self._referrers_api.get(host)
        if known is None:
            known = endpoint.indexes_referrers()
            with self._lock:
                self._referrers_api[host] = known
        return known


def _upload(endpoint: TargetEndpoint, data: bytes, media_type: str) -> None:
    blob = Descriptor(media_type, compute_digest(data), len(data))

    def opener(offset: int) -> Iterable[bytes]:
        return [data[offset:]]

    endpoint.write_blob(blob, opener)


def _listed(manifest: FetchedManifest | None) -> list[dict[str, Any]]:
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
        entries = _listed(endpoint.stored_manifest(tag))
        if any(e.get("digest") == entry.digest for e in entries):
            return
        document = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [*entries, entry.to_dict()],
        }
        raw = _dumps(document)
        written = compute_digest(raw)
        endpoint.put_manifest(FetchedManifest(raw, mt.OCI_INDEX, written), tag, root=False)
        if endpoint.resolve(tag) == written:
            return  # nobody replaced it since: our entry is listed
    if not any(e.get("digest") == entry.digest for e in _listed(endpoint.stored_manifest(tag))):
        raise OperationError(
            f"{endpoint.name}:{tag}: could not list the promotion record {entry.digest} "
            "in the referrers index (concurrent writers)",
            hint="re-run the promotion; the record itself is stored by digest",
        )
