"""Reading promotion records back: one digest's records, and a tag's history.

Every promotion and rollback leaves a record (``promote/record.py``) referring to
the digest it wrote, in each destination; each record names, per tag it wrote,
the digest that tag named before (``previous``). A tag's history is walked from
the digest it names now: the newest record there that wrote the tag, then the
record on the digest it names as previous (no newer than the step after it), and
so on, one record per step, until a tag that was new, a step no record explains
(another tool moved the tag, or the record is gone), a record written before
``previous`` was kept, ``limit`` entries or the hard cap of the walk.

Reads are bounded: at most ``RECORDS_PER_DIGEST`` records per digest (the newest
by their ``created`` annotation), each at most ``MAX_RECORD_BYTES``, and at most
``MAX_STEPS`` digests per walk. A record that is not one (bad JSON, another
subject) is skipped, never trusted.
"""

from __future__ import annotations

import json

from promoter.errors import InputError, RegistryError
from promoter.oci import Reference
from promoter.oci import mediatypes as mt
from promoter.promote.record import PROMOTION_ARTIFACT_TYPE
from promoter.registry.remote.client import RegistryClient
from promoter.structs import field, struct

__all__ = [
    "MAX_RECORD_BYTES",
    "MAX_STEPS",
    "MAX_TAGS",
    "RECORDS_PER_DIGEST",
    "History",
    "HistoryEntry",
    "Record",
    "RecordReader",
    "repository_history",
    "tag_history",
]

#: Records read per digest at most (the newest first).
RECORDS_PER_DIGEST = 50
#: Digests one walk visits at most, whatever ``--limit`` says.
MAX_STEPS = 200
#: The size of one record's JSON at most.
MAX_RECORD_BYTES = 256 * 1024
#: Tags one repository's history walks at most.
MAX_TAGS = 100
_CREATED = "org.opencontainers.image.created"
#: Tags that are not releases: referrers indexes, cosign's signatures and attestations.
_NOT_RELEASES = (".sig", ".att", ".sbom")


@struct(frozen=True)
class Record:
    """One promotion or rollback record, as stored next to ``subject`` in one repository."""

    record: str  # the record manifest's digest
    subject: str
    document: dict[str, object]

    @property
    def kind(self) -> str:
        """``promotion`` or ``rollback`` (records before kinds were kept are promotions)."""
        return str(self.document.get("kind") or "promotion")

    @property
    def time(self) -> str:
        """When it was written (ISO 8601, as the record says)."""
        return str(self.document.get("time") or "")

    @property
    def tags(self) -> list[str]:
        """The tags it wrote."""
        tags = self.document.get("tags")
        return [str(t) for t in tags] if isinstance(tags, list) else []

    def previous(self, tag: str) -> tuple[bool, str | None]:
        """(known, digest) of what ``tag`` named before this record's write; not known
        when the record predates ``previous`` (or does not name this tag in it)."""
        before = self.document.get("previous")
        for step in before if isinstance(before, list) else []:
            if isinstance(step, dict) and step.get("tag") == tag:
                value = step.get("digest")
                return True, str(value) if value else None
        return False, None

    def order(self) -> tuple[str, bool]:
        """Newest first: by time, a rollback after the promotion of the same second."""
        return self.time, self.kind == "rollback"


class RecordReader:
    """Reads the records of digests in one repository, each digest once (bounded)."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository
        self._known: dict[str, list[Record]] = {}
        self.skipped: list[str] = []  # what was not a record, and why

    def records(self, digest: str) -> list[Record]:
        """The records referring to ``digest``, newest first."""
        if digest not in self._known:
            self._known[digest] = self._read(digest)
        return self._known[digest]

    def _read(self, digest: str) -> list[Record]:
        listed = self.client.referrers(
            self.repository, digest, artifact_type=PROMOTION_ARTIFACT_TYPE
        )
        listed.sort(key=lambda d: (d.annotations or {}).get(_CREATED, ""), reverse=True)
        found = [self._one(digest, d.digest) for d in listed[:RECORDS_PER_DIGEST]]
        records = [r for r in found if r is not None]
        records.sort(key=Record.order, reverse=True)
        return records

    def _one(self, subject: str, record: str) -> Record | None:
        where = f"{self.client.host}/{self.repository}@{record}"
        fetched = self.client.get_manifest(
            Reference(self.client.host, self.repository, digest=record), accept=mt.OCI_MANIFEST
        )
        try:
            manifest = json.loads(fetched.raw)
            layer = manifest["layers"][0]
            if int(layer["size"]) > MAX_RECORD_BYTES:
                raise ValueError(f"its record is {layer['size']} bytes")
            raw = self.client.get_blob_bytes(
                self.repository, str(layer["digest"]), max_size=MAX_RECORD_BYTES
            )
            document = json.loads(raw)
        except (ValueError, KeyError, IndexError, TypeError, RegistryError) as error:
            self.skipped.append(f"{where}: not a readable record ({error})")
            return None
        if not isinstance(document, dict) or document.get("digest") != subject:
            self.skipped.append(f"{where}: its record does not name {subject}")
            return None
        return Record(record, subject, document)


@struct
class HistoryEntry:
    """One step of a tag's history: a record, or a step no record explains."""

    digest: str
    kind: str  # promotion | rollback | missing
    tags: list[str] = field(default_factory=list)
    at: str | None = None
    previous: str | None = None
    previous_known: bool = True
    record: str | None = None
    commit: str | None = None
    ref: str | None = None
    run_url: str | None = None
    checks: list[str] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)
    reason: str | None = None
    skipped_checks: bool | None = None
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """The JSON form (camelCase)."""
        return {
            "digest": self.digest,
            "kind": self.kind,
            "tags": list(self.tags),
            "at": self.at,
            "previous": self.previous if self.previous_known else "unknown",
            "record": self.record,
            "commit": self.commit,
            "ref": self.ref,
            "runUrl": self.run_url,
            "checksPassed": list(self.checks),
            "signers": list(self.signers),
            "reason": self.reason,
            "skippedChecks": self.skipped_checks,
            "note": self.note,
        }


def _part(document: dict[str, object], key: str) -> dict[str, object]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _list(document: dict[str, object], key: str) -> list[dict[str, object]]:
    value = document.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _entry(record: Record, tag: str) -> HistoryEntry:
    doc = record.document
    git, ci = _part(doc, "git"), _part(doc, "ci")
    results = _list(_part(doc, "policy"), "results")
    signatures = _list(doc, "signatures")
    known, previous = record.previous(tag)
    entry = HistoryEntry(
        record.subject,
        record.kind,
        record.tags,
        record.time or None,
        previous,
        known,
        record.record,
        _text(git.get("commit")),
        _text(git.get("ref")),
        _text(ci.get("runUrl")),
        [str(r.get("rule")) for r in results if r.get("status") == "pass"],
        [str(s.get("fingerprint")) for s in signatures],
    )
    if record.kind == "rollback":
        entry.reason = _text(doc.get("reason")) or ""
        entry.skipped_checks = bool(doc.get("skippedChecks", False))
    return entry


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@struct
class History:
    """A tag's history: newest first, and why the walk stopped where it did."""

    reference: str
    digest: str | None
    entries: list[HistoryEntry] = field(default_factory=list)
    end: str = ""
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``promoter history --output json``."""
        return {
            "reference": self.reference,
            "digest": self.digest,
            "entries": [e.to_dict() for e in self.entries],
            "end": self.end,
            "skippedRecords": list(self.skipped),
        }


def repository_history(client: RegistryClient, repository: Reference, limit: int = 20) -> History:
    """Every tag's history in ``repository`` merged: each record once (a promotion that
    wrote ``1.2.0`` and ``latest`` is one entry), newest first, at most ``limit``.

    The tags walked are the repository's first ``MAX_TAGS`` release tags (referrers
    indexes and cosign's ``.sig``/``.att``/``.sbom`` tags are not releases)."""
    tags = [
        t
        for t in client.list_tags(repository.repository)
        if not t.startswith("sha256-") and not t.endswith(_NOT_RELEASES)
    ]
    history = History(repository.name, None)
    entries: dict[tuple[str, str], HistoryEntry] = {}
    # Within the same second, a walk's order says which came later: an entry's height
    # in its longest walk (the newest of a walk of n is n, its oldest 1).
    height: dict[tuple[str, str], int] = {}
    ends: list[str] = []
    for tag in tags[:MAX_TAGS]:
        walked = tag_history(client, repository.with_tag(tag), limit)
        for index, entry in enumerate(walked.entries):
            key = (entry.record, "") if entry.record else (entry.digest, tag)
            entries.setdefault(key, entry)
            height[key] = max(height.get(key, 0), len(walked.entries) - index)
        ends.append(f"{tag}: {walked.end}")
        history.skipped += [s for s in walked.skipped if s not in history.skipped]
    ordered = sorted(
        entries, key=lambda k: (entries[k].at or "", height[k], entries[k].kind), reverse=True
    )
    history.entries = [entries[k] for k in ordered[:limit]]
    more = f"; {len(tags) - MAX_TAGS} more tag(s) not walked" if len(tags) > MAX_TAGS else ""
    history.end = f"{min(len(tags), MAX_TAGS)} tag(s) walked{more}: " + "; ".join(ends)
    return history


def tag_history(client: RegistryClient, reference: Reference, limit: int = 20) -> History:
    """Walk ``reference``'s tag back from the digest it names now (see the module)."""
    if not reference.tag:
        raise InputError(f"{reference}: history needs a tag (host/repo:tag)")
    found = client.head_manifest(reference)
    history = History(str(reference), found.digest if found else None)
    if found is None:
        history.end = f"{reference} names nothing: no history to walk"
        return history
    reader = RecordReader(client, reference.repository)
    _walk(reader, reference.tag, found.digest, max(1, limit), history)
    history.skipped = reader.skipped
    return history


def _walk(reader: RecordReader, tag: str, digest: str, limit: int, history: History) -> None:
    seen: set[str] = set()
    before: str | None = None  # the time of the step after this one
    for _ in range(MAX_STEPS):
        if len(history.entries) >= limit:
            history.end = f"stopped after {limit} entries (--limit)"
            return
        candidates = [
            r
            for r in reader.records(digest)
            if tag in r.tags and r.record not in seen and (before is None or r.time <= before)
        ]
        if not candidates:
            history.entries.append(_missing(digest, tag))
            history.end = (
                f"no record explains how {tag} came to name {digest}: the walk stops there"
            )
            return
        record = candidates[0]
        seen.add(record.record)
        entry = _entry(record, tag)
        history.entries.append(entry)
        if not entry.previous_known:
            history.end = (
                f"the record {record.record} predates previous digests in records: "
                "the walk stops there"
            )
            return
        if entry.previous is None:
            history.end = f"{tag} was new at this step: the first promotion"
            return
        digest, before = entry.previous, record.time
    history.end = f"stopped after {MAX_STEPS} steps (the walk's hard cap)"


def _missing(digest: str, tag: str) -> HistoryEntry:
    return HistoryEntry(
        digest,
        "missing",
        [tag],
        previous=None,
        previous_known=False,
        note=(
            f"{tag} named {digest} but no promoter record here says so: "
            "the tag was moved by another tool, or the record is missing"
        ),
    )
