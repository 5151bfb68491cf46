"""Planning a pipeline's promotions, reading registries only.

Per image: the source digest (from this run's build, else the staging
repository at the first computed staging tag); each promote rule's
destinations and tags (templates expanded, ``when`` evaluated against the git
context); what each destination tag needs; and, for images with something to
write, the policy checks on the staging digest (a failure blocks them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from promoter.errors import InputError
from promoter.oci import Reference
from promoter.pipeline.checks import PolicyChecker
from promoter.promote import ImagePlan, PromotionPlan, TagTarget, block, plan_actions
from promoter.promote.sign import SignTarget, plan_signs
from promoter.promote.when import when_applies
from promoter.registry.pool import Registries
from promoter.tagging import GitContext, RepositoryInfo, expand_template
from promoter.tagging.engine import Metadata
from promoter.tagging.stage import image_metadata

if TYPE_CHECKING:
    from promoter.config import Image, Pipeline
    from promoter.policy.results import CheckReport

__all__ = ["Built", "PlanInputs", "plan_images"]


@dataclass(frozen=True)
class Built:
    """What this run's build stage pushed for an image: its digest and staging tag."""

    digest: str
    staging_tag: str | None = None


@dataclass(frozen=True)
class PlanInputs:
    """Everything planning reads besides the registries."""

    pipeline: Pipeline
    context: GitContext
    repository: RepositoryInfo
    now: datetime
    built: Mapping[str, Built]
    check: bool = True
    metadata: Mapping[str, Metadata] | None = None  # computed once by the caller


def _targets(image: Image, meta: Metadata, inputs: PlanInputs) -> list[TagTarget]:
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


def _sign_targets(image: Image, inputs: PlanInputs) -> list[SignTarget]:
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
        found = registries.client(staging.registry).head_manifest(
            staging.with_tag(plan.staging_tag)
        )
        if found is not None:
            plan.digest, plan.digest_from = found.digest, "staging-tag"
    plan.actions = plan_actions(plan.digest, _targets(image, meta, inputs), registries, pool)
    plan.signs = plan_signs(plan.digest, _sign_targets(image, inputs), registries, pool)
    report = None
    if checker is not None and plan.digest is not None and (plan.writes or plan.to_sign):
        report = checker.check(staging.with_digest(plan.digest))
        plan.policy = report.to_dict()
        if not report.ok:
            reason = f"policy failed: {report.count('fail')} enforced rule(s)"
            block([*plan.actions, *plan.signs], reason)
    return plan, report


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
        context={
            "sha": inputs.context.sha,
            "ref": inputs.context.ref,
            "source": inputs.context.source,
            "runUrl": run_url,
        },
    )
    reports: dict[str, CheckReport] = {}
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
