"""Rolling a mutable tag back: which destinations, to what, and carrying it out.

``rule_targets`` finds the promote rules of an image that write a tag (a rule's
tag template such as ``{{version}}`` matches any tag of its shape) and refuses an
immutable tag (exit 1) or a tag no rule writes (exit 2). ``find_target`` reads
what each destination's tag names now and, for ``--to previous``, the record that
put it there, which names the digest before; destinations that disagree are a
refusal naming each. ``check_promoted`` refuses a target that is not a promoted
digest in every destination (its content there, and a record saying so).

``apply_rollback`` carries out a rollback plan: it re-reads every tag (refused if
one moved since the plan), then writes the tags across all destinations at once
with the promotion's own tag writer, then a record of kind ``rollback`` in each.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING

from promoter.errors import InputError, PromoterError, RefusedError
from promoter.oci import Reference
from promoter.oci.digest import is_digest
from promoter.oci.reference import parse_registry_reference
from promoter.promote.freshness import StalePlanError
from promoter.promote.history import RecordReader
from promoter.promote.options import ApplyOptions, endpoint_for
from promoter.promote.plan import ImagePlan, PromotionPlan
from promoter.promote.report import DestinationResult, ImageResult, PromotionReport
from promoter.promote.stopping import Stopped
from promoter.promote.tagphase import tag_and_record
from promoter.registry.remote.pool import Registries
from promoter.structs import struct

if TYPE_CHECKING:
    from promoter.config import Pipeline

__all__ = [
    "RuleTarget",
    "apply_rollback",
    "check_promoted",
    "check_rollback_plan",
    "find_target",
    "rule_targets",
    "tag_matches",
]

_TEMPLATE = re.compile(r"\{\{.*?\}\}")
_ANY = "[A-Za-z0-9_.-]+"
#: What each template variable can render to in a tag (the rest: any tag characters).
_SHAPES = {
    "version": r"v?[0-9]+(?:\.[0-9]+)*(?:-[0-9A-Za-z.-]+)?",
    "raw": r"v?[0-9]+(?:\.[0-9]+)*(?:-[0-9A-Za-z.-]+)?",
    "major": "[0-9]+",
    "minor": "[0-9]+",
    "patch": "[0-9]+",
    "sha": "[0-9a-f]{7,40}",
    "date": "[0-9][0-9A-Za-z_.-]*",
    "commit_date": "[0-9][0-9A-Za-z_.-]*",
}


def _shape(expression: str) -> str:
    words = expression.strip("{}~ #").split()
    return _SHAPES.get(words[0] if words else "", _ANY)


@struct(frozen=True)
class RuleTarget:
    """One destination repository whose rule writes the tag."""

    destination: Reference
    when: str
    line: int


def tag_matches(pattern: str, tag: str) -> bool:
    """A rule's tag (maybe a template: ``{{version}}``, ``v{{major}}``) against a tag: each
    expression matches what its variable renders to (``{{version}}`` a version,
    ``{{sha}}`` hex, ``{{branch}}`` any tag characters)."""
    if "{{" not in pattern:
        return pattern == tag
    texts = _TEMPLATE.split(pattern)
    shapes = [f"(?:{_shape(e)})" for e in _TEMPLATE.findall(pattern)]
    regex = re.escape(texts[0]) + "".join(
        s + re.escape(t) for s, t in zip(shapes, texts[1:], strict=True)
    )
    return re.fullmatch(regex, tag) is not None


def rule_targets(pipeline: Pipeline, image_name: str, tag: str) -> list[RuleTarget]:
    """The destinations of ``image_name``'s rules that write ``tag``; every one must mark it
    ``mutable``. A rule without ``tags:`` (the image's computed tags) counts where one of
    its ``mutable`` entries matches."""
    image = pipeline.images.get(image_name)
    if image is None:
        known = ", ".join(sorted(pipeline.images)) or "none"
        raise InputError(f"no image {image_name!r} in {pipeline.file} (images: {known})")
    found: list[RuleTarget] = []
    immutable: list[str] = []
    for rule in image.promote:
        mutable = any(tag_matches(m, tag) for m in rule.mutable)
        writes = any(tag_matches(t, tag) for t in rule.tags) if rule.tags else mutable
        if not writes:
            continue
        where = f"{pipeline.file}:{rule.line}"
        if not mutable:
            immutable.append(where)
        for repository in rule.to:
            reference = Reference(repository.host, repository.repository)
            if all(t.destination != reference for t in found):
                found.append(RuleTarget(reference, str(rule.when), rule.line))
    if not found:
        raise InputError(
            f"no promote rule of image {image_name!r} writes the tag {tag!r} ({pipeline.file})",
            hint="name a tag the image's promote rules write",
        )
    if immutable:
        raise RefusedError(
            f"{image_name}:{tag} is immutable (not in 'mutable' of the rule at "
            f"{', '.join(immutable)}): it never moves; nothing was written",
        )
    return found


def _head(registries: Registries, reference: Reference) -> str | None:
    found = registries.client(reference.registry).head_manifest(reference)
    return found.digest if found else None


def _reader(registries: Registries, destination: Reference) -> RecordReader:
    return RecordReader(registries.client(destination.registry), destination.repository)


def find_target(
    registries: Registries,
    targets: Sequence[RuleTarget],
    tag: str,
    to: str,
    pool: Executor,
) -> tuple[str, dict[str, str | None]]:
    """(the digest to move the tag to, what the tag names now in each destination)."""
    currents = dict(
        zip(
            [t.destination.name for t in targets],
            pool.map(lambda t: _head(registries, t.destination.with_tag(tag)), targets),
            strict=True,
        )
    )
    if to != "previous":
        if not is_digest(to):
            raise InputError(f"--to {to!r}: expected 'previous' or a digest (sha256:<hex>)")
        return to, currents
    absent = [name for name, now in currents.items() if now is None]
    if absent:
        raise RefusedError(
            f"{tag} names nothing in {', '.join(absent)}: there is no previous digest to go back to",
            hint="give the digest with --to sha256:...",
        )
    found = list(pool.map(lambda t: _previous(registries, t, tag, currents), targets))
    unknown = [f"{name}: {why}" for name, _, why in found if why]
    if unknown:
        raise RefusedError(
            f"the previous digest of {tag} is not known in {len(unknown)} destination(s)",
            detail="\n".join(f"  {u}" for u in unknown),
            hint="give the digest with --to sha256:...",
        )
    previous = {name: digest for name, digest, _ in found}
    if len(set(previous.values())) > 1:
        raise RefusedError(
            f"the destinations disagree on the previous digest of {tag}; nothing was written",
            detail="\n".join(f"  {name}: {digest}" for name, digest in previous.items()),
            hint="choose one with --to sha256:...",
        )
    return next(iter(previous.values())) or "", currents


def _previous(
    registries: Registries, target: RuleTarget, tag: str, currents: dict[str, str | None]
) -> tuple[str, str | None, str]:
    """(destination, previous digest, why it is not known or "")."""
    name = target.destination.name
    current = currents[name]
    assert current is not None
    records = [r for r in _reader(registries, target.destination).records(current) if tag in r.tags]
    if not records:
        return name, None, f"no record writes {tag} on {current} (moved by another tool?)"
    known, digest = records[0].previous(tag)
    if not known:
        return name, None, f"the record {records[0].record} predates previous digests"
    if digest is None:
        return name, None, f"{tag} was new when {current} was promoted: nothing before it"
    return name, digest, ""


def check_promoted(
    registries: Registries, targets: Sequence[RuleTarget], digest: str, pool: Executor
) -> None:
    """Refuse (exit 1) unless ``digest`` is in every destination with a record of it."""

    def why_not(target: RuleTarget) -> str:
        name = target.destination.name
        if _head(registries, target.destination.with_digest(digest)) is None:
            return f"{name}: {digest} is not there"
        if not _reader(registries, target.destination).records(digest):
            return f"{name}: no promotion record of {digest} there"
        return ""

    problems = [p for p in pool.map(why_not, targets) if p]
    if problems:
        raise RefusedError(
            f"{digest} is not a promoted digest in {len(problems)} destination(s); "
            "nothing was written",
            detail="\n".join(f"  {p}" for p in problems),
            hint="roll back only to a digest promoter promoted to every destination",
        )


def check_rollback_plan(plan: PromotionPlan) -> list[RuleTarget]:
    """Refuse (exit 2) a rollback plan its pipeline's rules would not make: one image,
    one tag, the destinations the rules name for it, and that tag mutable in each (an
    immutable one: exit 1); return the rules' destinations."""
    # here, not at the top: yaml and the loader into history (+47 modules, 23 ms)
    from promoter.config.loader import load_pipeline

    if plan.rollback is None or len(plan.images) != 1:
        raise InputError("a rollback plan names one image and its 'rollback' section")
    image = plan.images[0]
    tag = plan.rollback.tag
    if not os.path.isfile(plan.file):
        raise InputError(
            f"the plan's pipeline file {plan.file!r} is not there: its rules cannot be checked",
            hint="apply in the folder the plan was made in (the plan names it in 'file')",
        )
    targets = rule_targets(load_pipeline(plan.file), image.image, tag)
    wanted = {t.destination.name for t in targets}
    named = {a.destination for a in image.actions}
    odd = [
        a
        for a in image.actions
        if a.tag != tag or not a.mutable or a.action not in ("tag", "noop", "blocked")
    ]
    if named != wanted or odd or image.digest is None:
        raise InputError(
            f"{image.image}:{tag}: the rollback plan's actions are not what {plan.file}'s "
            f"rules make (destinations {', '.join(sorted(wanted))})",
            hint="make the plan again with 'promoter rollback --out'",
        )
    return targets


def _check_fresh(image: ImagePlan, registries: Registries, pool: Executor) -> None:
    digest = image.digest
    assert digest is not None
    wanted: list[tuple[str, frozenset[str | None], str]] = []
    for action in image.actions:
        wanted.append(
            (
                f"{action.destination}:{action.tag}",
                frozenset({action.current, digest}),
                action.current or "nothing",
            )
        )
        wanted.append((f"{action.destination}@{digest}", frozenset({digest}), digest))
    found = list(pool.map(lambda w: _head(registries, parse_registry_reference(w[0])), wanted))
    changes = [
        f"{reference} now names {now or 'nothing'}, planned with {assumed}"
        for (reference, accepted, assumed), now in zip(wanted, found, strict=True)
        if now not in accepted
    ]
    if changes:
        raise StalePlanError(
            f"the rollback plan is stale: {len(changes)} change(s) since it was made; "
            "nothing was written",
            detail="\n".join(f"  {c}" for c in changes),
            hint="make a new plan with 'promoter rollback --out plan.json' and review it",
        )


def apply_rollback(
    plan: PromotionPlan, registries: Registries, options: ApplyOptions
) -> PromotionReport:
    """Carry out a rollback plan: fresh or refused, then every tag at once, then records."""
    started = time.monotonic()
    targets = check_rollback_plan(plan)
    image = plan.images[0]
    outcome = ImageResult(image.image, image.digest, "rolled-back")
    names = list(dict.fromkeys(a.destination for a in image.writes))
    with ThreadPoolExecutor(max(2, len(image.actions) * 2), thread_name_prefix="rollback") as pool:
        if options.check_fresh:
            _check_fresh(image, registries, pool)
        if image.digest is not None and names:  # still a promoted digest everywhere
            check_promoted(registries, targets, image.digest, pool)
        if any(a.action == "blocked" for a in image.actions):
            outcome.status, outcome.message = "blocked", "policy checks failed on the target"
        elif not names:
            outcome.status, outcome.message = "up-to-date", "every tag already names the digest"
        else:
            options.stop.applying = True  # an interrupt now waits for the commit point
            try:
                _roll(image, plan, registries, options, outcome, names, pool)
            finally:
                options.stop.applying = False
    outcome.seconds = time.monotonic() - started
    return PromotionReport([outcome], outcome.seconds)


def _roll(
    image: ImagePlan,
    plan: PromotionPlan,
    registries: Registries,
    options: ApplyOptions,
    outcome: ImageResult,
    names: list[str],
    pool: Executor,
) -> None:
    assert image.digest is not None
    targets = {name: endpoint_for(registries, name) for name in names}
    results = {name: DestinationResult(name) for name in names}
    try:
        top = targets[names[0]].get_manifest(image.digest)
        options.stop.enter_tag_phase(image.image)
        try:
            tag_and_record(pool, image, targets, top, results, plan, options)
        finally:
            options.stop.leave_tag_phase(image.image)
    except PromoterError as error:
        outcome.status, outcome.message, outcome.error = "failed", error.message, error
    except Stopped:  # an interrupt before the tag phase
        outcome.status = "interrupted"
        outcome.message = "interrupted before the tag phase: no tag and no record written"
    outcome.destinations = [results[name] for name in names]
    if outcome.status == "rolled-back":
        written = sum(len(r.tags) for r in results.values())
        outcome.message = f"{written} tag(s) moved back to {image.digest}"
