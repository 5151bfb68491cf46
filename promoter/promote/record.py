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
from typing import TYPE_CHECKING

from promoter.oci import Descriptor, compute_digest
from promoter.oci import mediatypes as mt
from promoter.oci.raw import RawManifest
from promoter.registry.target import RepositoryTarget
from promoter.transfer.endpoints import TargetEndpoint
from promoter.transfer.referrers import add_to_fallback_index, fallback_tag

if TYPE_CHECKING:
    from promoter.promote.plan import ImagePlan, PromotionPlan

__all__ = [
    "PROMOTION_ARTIFACT_TYPE",
    "RecordWriter",
    "add_to_fallback_index",
    "fallback_tag",
    "record_document",
    "record_manifest",
]

#: The artifact type of promotion records (and the media type of their one layer).
PROMOTION_ARTIFACT_TYPE = "application/vnd.promoter.promotion.v1+json"
_CREATED = "org.opencontainers.image.created"
_EMPTY_DIGEST = compute_digest(mt.EMPTY_JSON)


def _dumps(document: Mapping[str, object]) -> bytes:
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
        self._first: dict[str, threading.Lock] = {}

    def push(
        self,
        endpoint: TargetEndpoint,
        subject: Descriptor,
        record: Mapping[str, object],
        created: str,
    ) -> str:
        """Push the record referring to ``subject``; return the record manifest's digest."""
        payload = json.dumps(dict(record), indent=2, sort_keys=True).encode()
        raw, descriptor = record_manifest(subject, payload, created)
        self._put_empty(endpoint)
        _upload(endpoint, payload, PROMOTION_ARTIFACT_TYPE)  # new content: no HEAD first
        manifest = RawManifest(raw, mt.OCI_MANIFEST, descriptor.digest)
        endpoint.put_manifest(manifest, None, root=True)
        if not endpoint.indexes_referrers():  # probed once per host and run
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
            first = self._first.setdefault(host, threading.Lock())
        if home is None:
            with first:  # records pushed meanwhile wait for this upload, then mount
                with self._lock:
                    home = self._empty_home.get(host)
                if home is None:
                    _upload(endpoint, mt.EMPTY_JSON, mt.OCI_EMPTY)
                    with self._lock:
                        self._empty_home[host] = repository
                    return
        if home == repository:
            return  # uploaded here earlier in this run
        target = endpoint.target
        mounted = isinstance(target, RepositoryTarget) and target.client.mount_blob(
            repository, _EMPTY_DIGEST, home
        )
        if not mounted:
            _upload(endpoint, mt.EMPTY_JSON, mt.OCI_EMPTY)


def _upload(endpoint: TargetEndpoint, data: bytes, media_type: str) -> None:
    blob = Descriptor(media_type, compute_digest(data), len(data))

    def opener(offset: int) -> Iterable[bytes]:
        return [data[offset:]]

    endpoint.write_blob(blob, opener)


def record_document(
    image: ImagePlan,
    plan: PromotionPlan,
    destination: str,
    tags: list[str],
    moment: str,
    version: str,
) -> dict[str, object]:
    """The record of one destination: what was written there, from what, and why.

    ``previous`` lists, for every tag written, the digest it named before (``digest``
    None: the tag was new), so ``promoter history`` can walk the chain back one record per step.
    """
    context: Mapping[str, object] = plan.context
    policy = image.policy or {}
    before = {a.tag: a.current for a in image.writes if a.destination == destination}
    document: dict[str, object] = {
        "kind": plan.kind,
        "source": f"{image.source}@{image.digest}",
        "digest": image.digest,
        "destination": destination,
        "tags": list(tags),
        "previous": [{"tag": tag, "digest": before.get(tag)} for tag in tags],
        "policy": {
            "ok": policy.get("ok"),
            "results": policy.get("results", []),
        },
        "signatures": [
            {"fingerprint": s.fingerprint, "format": "cosign simple signing"}
            for s in image.signs
            if s.destination == destination and s.action in ("sign", "signed")
        ],
        "git": {"commit": context.get("sha"), "ref": context.get("ref")},
        "ci": {"runUrl": context.get("runUrl")},
        "time": moment,
        "promoter": version,
        "pipeline": plan.file,
    }
    if plan.rollback is not None:
        document["reason"] = plan.rollback.reason
        document["skippedChecks"] = plan.rollback.skipped_checks
    return document
