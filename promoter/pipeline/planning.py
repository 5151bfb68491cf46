"""Planning a pipeline's promotions, reading registries only.

Per image: the source digest (from this run's build, else the staging
repository at the first computed staging tag); each promote rule's
destinations and tags (templates expanded, ``when`` evaluated against the git
context); what each destination tag needs; and, for images with something to
write, the policy checks on the staging digest (a failure blocks them).

A plan records what its tag rules read (:func:`plan_context`: the git context's
ref, event, dates, base and default branches, and the clock) and the SHA-256 of
its pipeline file (:func:`pipeline_digest`), so that ``apply`` can derive the
destinations and tags from the file again (``promoter.pipeline.binding``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.config.inputfile import read_input
from promoter.errors import InputError, RegistryError
from promoter.oci import Reference
from promoter.oci.manifest import UnsupportedManifestError
from promoter.pipeline.policies import PolicyChecker
from promoter.promote import ImagePlan, PromotionPlan, TagTarget, block, plan_actions, survey
from promoter.promote.sign import SignTarget, plan_signs
from promoter.promote.when import when_applies
from promoter.registry.remote.pool import Registries
from promoter.structs import struct
from promoter.tagging import GitContext, RepositoryInfo, expand_template
from promoter.tagging.engine import Metadata
from promoter.tagging.stage import image_metadata

if TYPE_CHECKING:
    from promoter.config import Image, Pipeline
    from promoter.policy.results import CheckReport

__all__ = [
    "Built",
    "PlanInputs",
    "context_from_plan",
    "pipeline_digest",
    "plan_context",
    "plan_images",
    "recorded_path",
    "sign_targets",
    "tag_targets",
]


@struct(frozen=True)
class Built:
    """What this run's build stage pushed for an image: its digest and staging tag."""

    digest: str
    staging_tag: str | None = None


@struct(frozen=True)
class PlanInputs:
    """Everything planning reads besides the registries."""

    pipeline: Pipeline
    context: GitContext
    repository: RepositoryInfo
    now: datetime
    built: Mapping[str, Built]
    check: bool = True
    metadata: Mapping[str, Metadata] | None = None  # computed once by the caller


def tag_targets(image: Image, meta: Metadata, inputs: PlanInputs) -> list[TagTarget]:
    """Every destination tag of the image's promote rules (``applies``: its ``when`` holds)."""

    def expand(text: str) -> str:
        return expand_template(text, meta, inputs.context, inputs.repository, now=inputs.now)

    targets: list[TagTarget] = []
    for rule in image.promote:
        applies = when_applies(rule.when, branch=inputs.context.branch, tag=inputs.context.tag)
        names = [expand(t) for t in rule.tags] if rule.tags else list(meta.tag_names)
        mutable = {expand(t) for t in rule.mutable}
        for repository in rule.to:
            destination = Reference(repository.host, repository.repository)
            for tag in dict.fromkeys(n for n in names if n):
                try:
                    destination.with_tag(tag)
                except InputError as error:
                    raise InputError(
                        f"{inputs.pipeline.file}:{rule.line}: images.{image.name}.promote: "
                        f"tag {tag!r} is not a valid tag",
                        hint=error.hint,
                    ) from None
                targets.append(
                    TagTarget(destination, tag, tag in mutable, applies, str(rule.when), rule.line)
                )
    return targets


def sign_targets(image: Image, inputs: PlanInputs) -> list[SignTarget]:
    """The destinations of the rules that sign, with their keys."""
    targets: list[SignTarget] = []
    for rule in image.promote:
        if rule.sign is None:
            continue
        applies = when_applies(rule.when, branch=inputs.context.branch, tag=inputs.context.tag)
        for repository in rule.to:
            destination = Reference(repository.host, repository.repository)
            targets.append(SignTarget(destination, rule.sign, applies, str(rule.when), rule.line))
    return targets


def _plan_image(
    image: Image,
    inputs: PlanInputs,
    registries: Registries,
    checker: PolicyChecker | None,
    pool: ThreadPoolExecutor,
) -> tuple[ImagePlan, CheckReport | None]:
    known = inputs.metadata or {}
    meta = known.get(image.name) or image_metadata(
        image, inputs.context, inputs.repository, now=inputs.now
    )
    staging = Reference(image.staging.host, image.staging.repository)
    built = inputs.built.get(image.name)
    plan = ImagePlan(image.name, staging.name)
    if built is not None:
        plan.digest, plan.digest_from, plan.staging_tag = built.digest, "build", built.staging_tag
    elif meta.tag_names:
        plan.staging_tag = meta.tag_names[0]
        plan.digest = _tag_digest(registries, staging.with_tag(plan.staging_tag))
        if plan.digest is not None:
            plan.digest_from = "staging-tag"
    plan.actions = plan_actions(plan.digest, tag_targets(image, meta, inputs), registries, pool)
    plan.signs = plan_signs(plan.digest, sign_targets(image, inputs), registries, pool)
    report = None
    if checker is not None and plan.digest is not None and (plan.writes or plan.to_sign):
        report = checker.check(staging.with_digest(plan.digest))
        plan.policy = report.to_dict()
        if not report.ok:
            reason = f"policy failed: {report.count('fail')} enforced rule(s)"
            block([*plan.actions, *plan.signs], reason)
    return plan, report


def _tag_digest(registries: Registries, reference: Reference) -> str | None:
    """What a staging tag names: a GET, not a HEAD, at the same cost in requests, so the
    checks and the copy read the manifest from the run's memo (by its digest)."""
    client = registries.client(reference.registry)
    try:
        return client.get_manifest(reference).digest
    except RegistryError as error:
        if error.status == 404:
            return None
        raise
    except UnsupportedManifestError:  # schema 1: refused where it is read, as before
        found = client.head_manifest(reference)
        return found.digest if found is not None else None


def plan_images(
    inputs: PlanInputs,
    images: Sequence[Image],
    registries: Registries,
    *,
    created: str,
    run_url: str | None = None,
    hosts: Mapping[str, Mapping[str, object]] | None = None,
) -> tuple[PromotionPlan, dict[str, CheckReport]]:
    """The plan of ``images`` and the check reports made on the way (by image name)."""
    checker = (
        PolicyChecker(inputs.pipeline, registries, inputs.now, inputs.context.sha)
        if inputs.check
        else None
    )
    plan = PromotionPlan(
        file=str(inputs.pipeline.file),
        created=created,
        registries={h: dict(v) for h, v in (hosts or {}).items()},
        context={**plan_context(inputs), "runUrl": run_url},
        pipeline={
            "path": recorded_path(inputs.pipeline.file),
            "sha256": pipeline_digest(inputs.pipeline.file),
        },
    )
    reports: dict[str, CheckReport] = {}
    survey(registries, _destinations(images, inputs))
    with (
        ThreadPoolExecutor(12, thread_name_prefix="plan-image") as outer,
        ThreadPoolExecutor(16, thread_name_prefix="plan-head") as inner,
    ):
        planned = list(
            outer.map(lambda i: _plan_image(i, inputs, registries, checker, inner), images)
        )
    for image_plan, report in planned:
        plan.images.append(image_plan)
        if report is not None:
            reports[image_plan.image] = report
    return plan, reports


def _destinations(images: Sequence[Image], inputs: PlanInputs) -> list[Reference]:
    """The destination repositories of the rules that apply to this run."""
    context = inputs.context
    return [
        Reference(repository.host, repository.repository)
        for image in images
        for rule in image.promote
        if when_applies(rule.when, branch=context.branch, tag=context.tag)
        for repository in rule.to
    ]


def recorded_path(file: str | Path) -> str:
    """The pipeline file's path as a plan records it: relative to the working directory
    when the file is below it (another CI job's checkout may sit elsewhere), else absolute."""
    absolute = os.path.abspath(file)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith(os.pardir) else relative


def pipeline_digest(file: str | Path) -> str:
    """``sha256:<hex>`` of the pipeline file's bytes (bounded, as every input is read)."""
    raw = read_input(str(file), what="pipeline file", hint="pass the pipeline file with -f")
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def plan_context(inputs: PlanInputs) -> dict[str, object]:
    """The git context as a plan keeps it: the record's commit and ref, and every fact the
    tag rules and ``when`` read (the event payload's base and default branches, not the
    payload), and the rules' clock."""
    context, payload = inputs.context, inputs.context.payload
    pull = payload.get("pull_request")
    base = pull.get("base") if isinstance(pull, Mapping) else None
    repository = payload.get("repository")
    return {
        "sha": context.sha,
        "ref": context.ref,
        "source": context.source,
        "event": context.event_name,
        "commitDate": context.commit_date.isoformat() if context.commit_date else None,
        "baseRef": _text(payload.get("base_ref")),
        "pullRequestBaseRef": _text(base.get("ref")) if isinstance(base, Mapping) else None,
        "eventDefaultBranch": _text(repository.get("default_branch"))
        if isinstance(repository, Mapping)
        else None,
        "defaultBranch": inputs.repository.default_branch,
        "time": inputs.now.isoformat(),
    }


def _moment(text: object, key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise InputError(f"the plan's context.{key} {str(text)[:40]!r} is not a time") from None
    if moment.tzinfo is None:
        raise InputError(f"the plan's context.{key} {str(text)[:40]!r} has no time zone")
    return moment


def context_from_plan(context: Mapping[str, object]) -> tuple[GitContext, RepositoryInfo, datetime]:
    """Back from :func:`plan_context`: what the tag rules see, and their clock."""
    payload: dict[str, object] = {}
    if context.get("baseRef") is not None:
        payload["base_ref"] = context["baseRef"]
    if context.get("pullRequestBaseRef") is not None:
        payload["pull_request"] = {"base": {"ref": context["pullRequestBaseRef"]}}
    if context.get("eventDefaultBranch") is not None:
        payload["repository"] = {"default_branch": context["eventDefaultBranch"]}
    commit_date = context.get("commitDate")
    git = GitContext(
        source=str(context.get("source") or "none"),
        event_name=str(context.get("event") or ""),
        ref=str(context.get("ref") or ""),
        sha=str(context.get("sha") or ""),
        commit_date=_moment(commit_date, "commitDate") if commit_date else None,
        payload=payload,
    )
    repository = RepositoryInfo(default_branch=str(context.get("defaultBranch") or ""))
    return git, repository, _moment(context.get("time"), "time")
