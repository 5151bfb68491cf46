"""The prune plan (``promoter prune``) and its apply (``--apply``, ``promoter apply prune.json``).

The plan is a separate kind of plan file (``"kind": "prune"``). Applying it
deletes exactly what it lists, after checking each digest again right before
its delete: a digest that a tag has come to name since the plan (a tag that
matches ``keep_tags``, or one pushed again), whose tags moved, that gained a
referrer tag, or that a destination now holds (promoted since) is skipped and
named. Deletes go through the registry client, so through the same request
budget as every call; a registry that does not allow deletes stops the apply.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from promoter.config.model import Retention
from promoter.errors import ConfigError, OperationError, RegistryError
from promoter.oci.reference import Reference
from promoter.promote.retention import PruneEntry, RepositoryRules, Step, promoted_at
from promoter.promote.survey import parse_created, referrer_tag
from promoter.structs import field, struct

if TYPE_CHECKING:
    from promoter.config.model import Retention
    from promoter.registry.remote.pool import Registries

__all__ = [
    "PRUNE_FORMAT",
    "DeletionReport",
    "PrunePlan",
    "apply_prune",
    "prune_plan_from_dict",
    "request_counts",
]

PRUNE_FORMAT = "promoter.prune/v1"
_UNSEEN = (
    "untagged manifests are not listed: the registry's tag list is all a plain registry "
    "(distribution) offers, so a manifest no tag names is neither kept nor deleted here"
)


def request_counts(by_host: dict[str, int]) -> list[dict[str, object]]:
    """``{host: n}`` as ``[{"host": ..., "count": n}]`` (hosts are data, not keys)."""
    return [{"host": host, "count": count} for host, count in sorted(by_host.items())]


@struct
class PrunePlan:
    """What prune deletes and keeps, per staging repository, and what it asked to find out."""

    pipeline_file: str
    registries: dict[str, dict[str, object]]
    rules: list[RepositoryRules] = field(default_factory=list)
    delete: list[PruneEntry] = field(default_factory=list)
    keep: list[PruneEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=lambda: [_UNSEEN])
    #: host -> requests the plan sent there; and how many staging digests it saw.
    requests: dict[str, int] = field(default_factory=dict)
    digests: int = 0
    created_at: str = ""
    #: The pipeline file the plan was made from: ``path`` and ``sha256`` (see
    #: ``pipeline.binding``); apply takes the repositories' rules and the registries from it.
    pipeline: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "format": PRUNE_FORMAT,
            "kind": "prune",
            "pipelineFile": self.pipeline_file,
            "pipeline": dict(self.pipeline),
            "createdAt": self.created_at,
            "registries": self.registries,
            "repositories": [rules.to_dict() for rules in self.rules],
            "delete": [entry.to_dict() for entry in self.delete],
            "keep": [entry.to_dict() for entry in self.keep],
            "notes": list(self.notes),
            "requests": request_counts(self.requests),
            "stagingDigests": self.digests,
        }

    def rules_of(self, repository: str) -> RepositoryRules:
        return next(rules for rules in self.rules if rules.repository == repository)


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} is not a list of strings")
    return tuple(value)


def _entry(data: dict[str, Any]) -> PruneEntry:
    steps = tuple(
        Step(str(s["digest"]), str(s["what"]), _strings(s["tags"], "tags"))
        for s in data.get("deletes") or []
    )
    return PruneEntry(
        repository=str(data["repository"]),
        digest=str(data["digest"]),
        tags=_strings(data["tags"], "tags"),
        reason=str(data["reason"]),
        created=parse_created(data.get("created")),
        steps=steps,
        referrer_tags=_strings(data.get("referrerTags", []), "referrerTags"),
    )


def _rules(data: dict[str, Any]) -> RepositoryRules:
    settings = data["retention"]
    tags = settings.get("keepTags")
    retention: Retention = Retention(
        keep_last=settings.get("keepLast"),
        keep_newer_than=settings.get("keepNewerThan"),
        keep_tags=_strings(tags, "keepTags") if tags is not None else None,
    )
    return RepositoryRules(
        str(data["image"]),
        str(data["repository"]),
        retention,
        _strings(data["destinations"], "destinations"),
    )


def prune_plan_from_dict(data: dict[str, Any], file: str) -> PrunePlan:
    """A prune plan read back from its file (``ConfigError``, exit 2, when malformed)."""
    if data.get("format") != PRUNE_FORMAT:
        raise ConfigError(
            f"not a prune plan (format {str(data.get('format'))[:40]!r}, expected "
            f"{PRUNE_FORMAT!r})",
            file=file,
            hint="write one with 'promoter prune --out prune.json'",
        )
    try:
        plan = PrunePlan(
            pipeline_file=str(data["pipelineFile"]),
            registries=dict(data["registries"]),
            rules=[_rules(r) for r in data["repositories"]],
            delete=[_entry(e) for e in data["delete"]],
            keep=[_entry(e) for e in data["keep"]],
            created_at=str(data.get("createdAt", "")),
            pipeline={str(k): str(v) for k, v in dict(data.get("pipeline") or {}).items()},
        )
        for entry in plan.delete:
            plan.rules_of(entry.repository)
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration) as error:
        raise ConfigError(f"malformed prune plan: {error!r}", file=file) from None
    return plan


@struct
class DeletionReport:
    """What an apply did: deleted entries, skipped ones with why, manifests deleted."""

    deleted: list[PruneEntry] = field(default_factory=list)
    skipped: list[tuple[PruneEntry, str]] = field(default_factory=list)
    manifests: int = 0
    gone: int = 0  # already gone before its delete
    seconds: float = 0.0
    requests: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "deleted": [entry.to_dict() for entry in self.deleted],
            "skipped": [{**entry.to_dict(), "skipped": why} for entry, why in self.skipped],
            "manifestsDeleted": self.manifests,
            "alreadyGone": self.gone,
            "seconds": round(self.seconds, 3),
            "requests": request_counts(self.requests),
        }


@struct
class _Now:
    """What apply learned of a repository when it started: tags the plan did not know."""

    new_tags: dict[str, list[str]] = field(default_factory=dict)  # digest -> tags
    new_referrer_tags: dict[str, list[str]] = field(default_factory=dict)  # subject -> tags


def _plan_tags(plan: PrunePlan, repository: str) -> set[str]:
    known: set[str] = set()
    for entry in [*plan.delete, *plan.keep]:
        if entry.repository == repository:
            known.update(entry.tags)
            known.update(entry.referrer_tags)
            known.update(tag for step in entry.steps for tag in step.tags)
    return known


def _look_again(plan: PrunePlan, registries: Registries, repository: str) -> _Now:
    """The repository's tags now, by the digest each names where the plan had it name
    another (or did not know it): deleting a digest by digest removes every tag naming it."""
    host, _, name = repository.partition("/")
    client = registries.client(host)
    known = _plan_tags(plan, repository)
    owner = {
        t: e.digest
        for e in [*plan.keep, *plan.delete]
        if e.repository == repository
        for t in e.tags
    }
    now = _Now()
    ordinary = []
    for tag in client.list_tags(name):
        named = referrer_tag(tag)
        if named is None:
            ordinary.append(tag)
        elif tag not in known:
            now.new_referrer_tags.setdefault(named[0], []).append(tag)
    with ThreadPoolExecutor(8) as pool:
        found = pool.map(lambda t: client.head_manifest(Reference(host, name, tag=t)), ordinary)
        for tag, descriptor in zip(ordinary, found, strict=True):
            if descriptor is not None and owner.get(tag) != descriptor.digest:
                now.new_tags.setdefault(descriptor.digest, []).append(tag)
    return now


def _why_skip(
    entry: PruneEntry, rules: RepositoryRules, registries: Registries, now: _Now
) -> str | None:
    """Why ``entry`` must not be deleted now, or None: its world is as the plan saw it."""
    host, _, name = entry.repository.partition("/")
    client = registries.client(host)
    added = now.new_tags.get(entry.digest, [])
    if added:
        globs = rules.retention.keep_tags or ()
        matching = [t for t in added if any(_match(t, g) for g in globs)]
        if matching:
            return f"tag {matching[0]} names it since the plan and matches keep_tags"
        return f"pushed again since the plan: tag {added[0]} names it now"
    if now.new_referrer_tags.get(entry.digest):
        return f"gained referrer tag {now.new_referrer_tags[entry.digest][0]} since the plan"
    for tag in entry.tags:
        found = client.head_manifest(Reference(host, name, tag=tag))
        if found is not None and found.digest != entry.digest:
            return f"tag {tag} names {found.digest} now (pushed again since the plan)"
    where = promoted_at(registries, entry.digest, rules.destinations)
    if where is not None:
        return f"promoted since the plan: {where} holds it"
    return None


def _match(tag: str, glob: str) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(tag, glob)


def _disabled(error: RegistryError, host: str) -> OperationError:
    return OperationError(
        f"{host} does not allow deletes ({error.code or f'HTTP {error.status}'}): nothing more "
        "was deleted",
        detail=error.message,
        hint="enable deletes on the registry: distribution (docker-registry) needs "
        "storage.delete.enabled: true in its config; on ACR the identity needs the delete "
        "permission (e.g. the AcrDelete role) and the repository must not be locked "
        "(delete-enabled / write-enabled)",
    )


def _delete(registries: Registries, entry: PruneEntry, outcome: DeletionReport) -> None:
    host, _, name = entry.repository.partition("/")
    client = registries.client(host)
    for step in entry.steps:
        try:
            client.delete_manifest(name, step.digest)
        except RegistryError as error:
            if error.status == 404:
                with outcome._lock:
                    outcome.gone += 1
                continue
            if error.status == 405 or error.code == "UNSUPPORTED":
                raise _disabled(error, host) from None
            raise
        with outcome._lock:
            outcome.manifests += 1


def _one(plan: PrunePlan, registries: Registries, entry: PruneEntry, state: dict[str, Any]) -> None:
    outcome: DeletionReport = state["outcome"]
    if state["stop"].is_set():
        return
    why = _why_skip(entry, plan.rules_of(entry.repository), registries, state[entry.repository])
    if why is not None:
        with outcome._lock:
            outcome.skipped.append((entry, why))
        return
    try:
        _delete(registries, entry, outcome)
    except BaseException:
        state["stop"].set()
        raise
    with outcome._lock:
        outcome.deleted.append(entry)


def apply_prune(
    plan: PrunePlan, registries: Registries, *, workers: int = 8, started: datetime | None = None
) -> DeletionReport:
    """Delete what ``plan`` lists, each digest checked again right before its delete.

    Indexes go first (then nothing half-deleted lists a manifest that is gone).
    """
    outcome = DeletionReport()
    state: dict[str, Any] = {"outcome": outcome, "stop": threading.Event()}
    for repository in sorted({entry.repository for entry in plan.delete}):
        state[repository] = _look_again(plan, registries, repository)
    indexes = [e for e in plan.delete if any(s.what == "index" for s in e.steps)]
    others = [e for e in plan.delete if e not in indexes]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        try:
            for phase in (indexes, others):
                for done in [pool.submit(_one, plan, registries, e, state) for e in phase]:
                    done.result()
        except BaseException:  # an interrupt or a failure: start no further delete
            state["stop"].set()
            raise
    return outcome
