"""The policies checked again at ``apply``: a plan's policy results are not trusted.

A plan records each image's check results, and an editor of the plan file can
rewrite them: turn a ``blocked`` action into ``copy`` and write ``ok: true``, or
name another digest of staging. Before ``apply`` (``--shard``, ``--finish``)
writes anything, :func:`recheck_policies` runs the pipeline file's policies
(the check stage's :class:`PolicyChecker`) on the digest each image promotes,
once per staging digest, concurrently (no request when the file has no
policy), and refuses the plan (exit 1, :class:`PolicyRecheckError`) when an
enforced rule fails. The plan's results are replaced by the ones just made, so
the promotion records state those.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from promoter.errors import InputError, RefusedError
from promoter.oci.reference import parse_registry_reference
from promoter.pipeline.policies import PolicyChecker
from promoter.policy.results import CheckReport
from promoter.promote.plan import ImagePlan, PromotionPlan
from promoter.registry.remote.pool import Registries
from promoter.untrusted import one_line

if TYPE_CHECKING:
    from promoter.config import Pipeline

__all__ = ["PolicyRecheckError", "recheck_policies"]

#: At most this many digests are checked at once (as many as planning checks at once).
_CONCURRENT = 12


class PolicyRecheckError(RefusedError):
    """An enforced policy fails on a digest the plan writes; nothing was written."""


def _subject(plan: PromotionPlan, image: ImagePlan) -> str:
    """Where the digest an image writes is checked: its staging repository; a rollback's
    target at its first destination (it was promoted there; staging may have pruned it)."""
    if plan.kind == "rollback" and image.actions:
        return f"{image.actions[0].destination}@{image.digest}"
    return f"{image.source}@{image.digest}"


def _failures(image: ImagePlan, report: CheckReport, where: str, subject: str) -> list[str]:
    said = (
        "the plan said it passed"
        if (image.policy or {}).get("ok") is True
        else "the plan writes it anyway"
    )
    return [
        f"{where}: image {image.image}: the enforced policy {one_line(result.rule)} fails on "
        f"{subject} ({one_line(result.message)}); {said}"
        for result in report.results
        if result.status == "fail"
    ]


def _skipped(plan: PromotionPlan, where: str, skip_checks: bool) -> bool:
    """Whether this apply skips the policies: only a rollback plan made with
    ``--skip-checks``, applied with ``--skip-checks`` again (the plan's word alone is an
    editor's word; the record says the checks were skipped)."""
    made_skipping = plan.rollback is not None and plan.rollback.skipped_checks
    if skip_checks and not made_skipping:
        raise InputError(
            f"{where}: --skip-checks applies a rollback plan made with --skip-checks; "
            "this plan checks its policies",
            hint="apply it without --skip-checks",
        )
    if made_skipping and not skip_checks:
        raise PolicyRecheckError(
            f"{where}: the rollback plan was made with --skip-checks; nothing was written",
            hint="apply it with --skip-checks to skip the policies again (its records say "
            "so), or make the plan again without --skip-checks",
        )
    return made_skipping


def recheck_policies(
    plan: PromotionPlan,
    pipeline: Pipeline,
    registries: Registries,
    where: str,
    now: datetime | None = None,
    skip_checks: bool = False,
) -> dict[str, CheckReport]:
    """Check every image that copies, tags or signs again, on its planned digest (by image
    name, the reports made); raise ``PolicyRecheckError`` when an enforced rule fails.

    A rollback plan's target is checked the same way, unless it was made with
    ``--skip-checks`` and ``skip_checks`` says so again (``apply --skip-checks``)."""
    if _skipped(plan, where, skip_checks):
        return {}
    images = [i for i in plan.images if i.digest is not None and (i.writes or i.to_sign)]
    if not images:
        return {}
    commit = str(plan.context.get("sha") or "") or None
    checker = PolicyChecker(pipeline, registries, now or datetime.now(timezone.utc), commit)
    digests = sorted({_subject(plan, i) for i in images})
    if not checker.rules:  # nothing to enforce: no request, and no result to state
        made = {d: CheckReport(d, d.rpartition("@")[2]) for d in digests}
    else:
        with ThreadPoolExecutor(
            min(_CONCURRENT, len(digests)), thread_name_prefix="recheck"
        ) as pool:
            made = dict(
                zip(
                    digests,
                    pool.map(lambda d: checker.check(parse_registry_reference(d)), digests),
                    strict=True,
                )
            )
    reports: dict[str, CheckReport] = {}
    problems: list[str] = []
    for image in images:
        subject = _subject(plan, image)
        report = made[subject]
        problems += _failures(image, report, where, subject)
        image.policy, reports[image.image] = report.to_dict(), report
    if problems:
        raise PolicyRecheckError(
            f"{problems[0]}; nothing was written",
            detail="\n".join(f"  {p}" for p in problems[1:]) or None,
            hint="fix the image, or plan again and review the plan",
        )
    return reports
