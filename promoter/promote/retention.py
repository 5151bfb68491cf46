"""``promoter prune``'s plan: which staging digests retention deletes, which it keeps, and why.

A tagged digest is deleted only when no rule keeps it: ``keep_last`` (the
newest N tagged digests), ``keep_newer_than``, ``keep_tags``. Whatever the
rules, these are kept: a digest that exists at any destination of the image's
promote rules (one HEAD per destination, asked only of digests no rule keeps),
a child of a kept index, a referrer of a kept digest. A digest is deleted with
its referrers and their tags, in an order that leaves no dangling referrer tag
if the deletes stop halfway: referrer tags first, then the referrers, then the
digest, then the children of an index (which no kept index lists).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from promoter.oci.reference import Reference
from promoter.promote.survey import Stored, Survey, referrer_tag
from promoter.registry.remote.client import parse_index_descriptors
from promoter.structs import field, struct

if TYPE_CHECKING:
    from promoter.config.model import Retention
    from promoter.registry.remote.client import RegistryClient
    from promoter.registry.remote.pool import Registries

__all__ = [
    "PruneEntry",
    "RepositoryRules",
    "Step",
    "decide",
    "plan_repository",
    "promoted_at",
    "protected_digests",
    "steps_for",
]

_KINDS = {None: "referrers index", "sig": "signature", "att": "attestation", "sbom": "SBOM"}


@struct(frozen=True)
class RepositoryRules:
    """One staging repository's retention and the destinations its promotions go to."""

    image: str
    repository: str  # host/repo
    retention: Retention
    destinations: tuple[str, ...]  # host/repo each

    def to_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "repository": self.repository,
            "retention": self.retention.settings(),
            "destinations": list(self.destinations),
        }


@struct(frozen=True)
class Step:
    """One manifest delete: the digest, what it is to the entry, the tags it takes along."""

    digest: str
    what: str
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"digest": self.digest, "what": self.what, "tags": list(self.tags)}


@struct
class PruneEntry:
    """A tagged digest to delete or keep, with its tags and why."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    reason: str
    created: datetime | None = None
    #: The deletes, in order (the digest itself among them); empty for a kept digest.
    steps: tuple[Step, ...] = ()
    #: For a delete: the referrer tags it had when planned (a new one since: skipped).
    referrer_tags: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "repository": self.repository,
            "digest": self.digest,
            "tags": list(self.tags),
            "reason": self.reason,
            "created": self.created.isoformat() if self.created else None,
        }
        if self.steps:
            found["deletes"] = [step.to_dict() for step in self.steps]
            found["referrerTags"] = list(self.referrer_tags)
        return found


def _newer(retention: Retention, now: datetime) -> datetime | None:
    if retention.keep_newer_than is None:
        return None
    return now - timedelta(seconds=retention.keep_newer_than)


def _rule_reasons(retention: Retention, stored: Stored, rank: int, now: datetime) -> list[str]:
    """Why the retention keys keep ``stored`` (empty: none does)."""
    reasons = []
    globs = retention.keep_tags or ()
    for tag in stored.tags:
        glob = next((g for g in globs if fnmatchcase(tag, g)), None)
        if glob is not None:
            reasons.append(f"tag {tag} matches keep_tags {glob!r}")
            break
    if retention.keep_last is not None and rank < retention.keep_last:
        reasons.append(f"one of the newest {retention.keep_last}")
    since = _newer(retention, now)
    if since is not None and stored.created is not None and stored.created >= since:
        reasons.append(f"created {stored.created.isoformat()}, within keep_newer_than")
    if stored.created is None:
        reasons.append("no created time (annotation, label or config) to judge its age by")
    return reasons


def _delete_reason(retention: Retention, stored: Stored, now: datetime) -> str:
    parts = []
    if retention.keep_last is not None:
        parts.append(f"not among the newest {retention.keep_last}")
    if retention.keep_newer_than is not None and stored.created is not None:
        parts.append(f"created {stored.created.isoformat()}, before {_newer(retention, now)}")
    if retention.keep_tags:
        parts.append("no tag matches keep_tags")
    parts.append("not promoted")
    return "; ".join(parts)


def promoted_at(client_for: Registries, digest: str, destinations: tuple[str, ...]) -> str | None:
    """The first destination (``host/repo``) that holds ``digest``, or None (a HEAD each)."""
    for destination in destinations:
        host, _, name = destination.partition("/")
        if client_for.client(host).head_manifest(Reference(host, name, digest=digest)):
            return destination
    return None


def protected_digests(survey: Survey, kept: set[str]) -> set[str]:
    """The kept digests, their children (all the way down) and what those tagged referrers name."""
    found: set[str] = set()
    wanted = list(kept)
    while wanted:
        digest = wanted.pop()
        if digest in found:
            continue
        found.add(digest)
        stored = survey.stored.get(digest)
        if stored is not None:
            wanted.extend(stored.children)
    return found


def decide(
    survey: Survey, rules: RepositoryRules, registries: Registries, now: datetime
) -> tuple[list[PruneEntry], list[Stored]]:
    """The kept entries (with why) and the tagged manifests to delete."""
    retention, name = rules.retention, rules.repository
    keep: dict[str, PruneEntry] = {}
    rest: list[Stored] = []
    for rank, stored in enumerate(survey.tagged):
        reasons = _rule_reasons(retention, stored, rank, now)
        if reasons:
            keep[stored.digest] = _kept(name, stored, "; ".join(reasons))
        else:
            rest.append(stored)
    with ThreadPoolExecutor(8) as pool:
        found = list(
            pool.map(lambda s: promoted_at(registries, s.digest, rules.destinations), rest)
        )
    doomed = []
    for stored, where in zip(rest, found, strict=True):
        if where is not None:
            keep[stored.digest] = _kept(name, stored, f"promoted: {where} holds it")
        else:
            doomed.append(stored)
    return _spareprotected_digests(survey, name, keep, doomed)


def _kept(repository: str, stored: Stored, reason: str) -> PruneEntry:
    return PruneEntry(repository, stored.digest, tuple(stored.tags), reason, stored.created)


def _spareprotected_digests(
    survey: Survey, name: str, keep: dict[str, PruneEntry], doomed: list[Stored]
) -> tuple[list[PruneEntry], list[Stored]]:
    """Move to ``keep`` every doomed digest a kept index lists or a kept digest is referred by."""
    changed = True
    while changed:
        changed = False
        protected = protected_digests(survey, set(keep))
        for stored in list(doomed):
            if stored.digest in protected:
                why = "a child of a kept index"
            elif stored.subject is not None and stored.subject in protected:
                why = f"a referrer of kept {stored.subject}"
            else:
                continue
            keep[stored.digest] = _kept(name, stored, why)
            doomed.remove(stored)
            changed = True
    return list(keep.values()), doomed


def _referrer_steps(
    client: RegistryClient, survey: Survey, subject: str, spared: set[str]
) -> Iterator[Step]:
    """The referrer tags of ``subject`` and what they list, referrers of referrers first."""
    base = survey.repository
    for tag in survey.referrer_tags(subject):
        kind = _KINDS.get((referrer_tag(tag) or ("", "?"))[1], "referrer tag")
        fetched = client.get_manifest(base.with_tag(tag))
        listed: list[str] = []
        if kind == "referrers index":
            listed = [d.digest for d in parse_index_descriptors(fetched.raw, str(base))]
        yield Step(fetched.digest, kind, (tag,))
        for digest in listed:
            if digest in spared:
                continue
            spared.add(digest)
            yield from _referrer_steps(client, survey, digest, spared)
            yield Step(digest, "referrer")


def steps_for(
    client: RegistryClient, survey: Survey, stored: Stored, protected: set[str]
) -> tuple[Step, ...]:
    """Every delete that removes ``stored``, its referrers and its unshared children, in order."""
    spared = set(protected) | {stored.digest}
    steps = list(_referrer_steps(client, survey, stored.digest, spared))
    steps.append(
        Step(stored.digest, "index" if stored.is_index else "manifest", tuple(stored.tags))
    )
    wanted = list(stored.children)
    while wanted:
        child = wanted.pop(0)
        if child in spared or survey.stored.get(child, Stored(child)).tags:
            continue  # kept, listed twice, or tagged (judged on its own)
        spared.add(child)
        steps.extend(_referrer_steps(client, survey, child, spared))
        steps.append(Step(child, "child"))
        wanted.extend(survey.stored[child].children if child in survey.stored else ())
    return tuple(steps)


def plan_repository(
    registries: Registries, survey: Survey, rules: RepositoryRules, now: datetime
) -> tuple[list[PruneEntry], list[PruneEntry]]:
    """The delete entries (each with its steps, in order) and the keep entries of a survey."""
    keep, doomed = decide(survey, rules, registries, now)
    protected = protected_digests(survey, {entry.digest for entry in keep})
    client = registries.client(survey.repository.registry)
    delete = [
        PruneEntry(
            rules.repository,
            stored.digest,
            tuple(stored.tags),
            _delete_reason(rules.retention, stored, now),
            stored.created,
            _unpromoted(registries, rules, steps_for(client, survey, stored, protected)),
            tuple(survey.referrer_tags(stored.digest)),
        )
        for stored in doomed
    ]
    return delete, keep


def _unpromoted(
    registries: Registries, rules: RepositoryRules, steps: tuple[Step, ...]
) -> tuple[Step, ...]:
    """``steps`` without the children of a deleted index that a destination holds on their own."""
    return tuple(
        step
        for step in steps
        if step.what != "child" or promoted_at(registries, step.digest, rules.destinations) is None
    )
