"""``promoter apply PLAN --shard I/N`` and ``--finish``: one plan's content over several jobs.

Both refuse what ``apply`` refuses, before any write: a plan that does what its
pipeline file's promote rules do not produce, or made from other bytes of the
file (exit 1, ``promoter.pipeline.binding``), a plan whose digests are not known
yet or whose sources are not its pipeline's staging repositories (exit 2), a
digest on which an enforced policy fails, checked again by each job
(exit 1, ``promoter.pipeline.rechecks``), and a stale plan (exit 1). A shard then uploads its share of the
blobs (``promoter.promote.shard``); the finish checks from the registries that
every destination holds every blob (exit 1, listing what is missing, and
nothing written, when one does not), then applies the plan as ``apply`` does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

from promoter import __version__
from promoter.errors import InputError
from promoter.pipeline.binding import bind_plan
from promoter.pipeline.rechecks import recheck_policies
from promoter.pipeline.report import RunReport
from promoter.pipeline.settings import registry_options
from promoter.promote import ApplyOptions, PromotionPlan, apply_plan, load_plan
from promoter.promote.apply import check_provenance, plan_homes
from promoter.promote.freshness import check_freshness
from promoter.promote.shard import ShardOutcome, ShardSpec, require_complete, run_shard
from promoter.registry.pool import Registries

if TYPE_CHECKING:
    from promoter.config import Pipeline
    from promoter.policy.results import CheckReport
    from promoter.transfer import ProgressListener

__all__ = ["apply_shard_file", "finish_plan_file"]


def _trusted(
    plan: PromotionPlan, pipeline: Pipeline, registries: Registries, path: str
) -> dict[str, CheckReport]:
    """What ``apply_plan`` refuses first: another kind of plan, unknown digests, a failing
    policy (checked again, not read from the plan), a stale plan. The check reports."""
    if plan.kind != "promotion":
        raise InputError(
            f"a {plan.kind} plan moves tags only, it has no content to shard",
            hint="apply it whole: 'promoter apply PLAN', without --shard or --finish",
        )
    check_provenance(plan)
    reports = recheck_policies(plan, pipeline, registries, path)
    with ThreadPoolExecutor(8, thread_name_prefix="fresh") as pool:
        check_freshness(plan, registries, pool)
    return reports


def apply_shard_file(
    path: str,
    shard: ShardSpec,
    *,
    insecure_registries: Sequence[str] = (),
    ca_file: str | None = None,
    pipeline_file: str | None = None,
) -> ShardOutcome:
    """``promoter apply PLAN --shard I/N``: shard I's blobs to their destinations; no tag."""
    plan = load_plan(path)
    pipeline = bind_plan(plan, path, pipeline_file)
    options = registry_options(plan.registries, insecure_registries, ca_file)
    with Registries(options) as registries:
        _trusted(plan, pipeline, registries, path)
        return run_shard(plan, registries, shard)


def finish_plan_file(
    path: str,
    *,
    insecure_registries: Sequence[str] = (),
    ca_file: str | None = None,
    now: datetime | None = None,
    listener: ProgressListener | None = None,
    pipeline_file: str | None = None,
) -> RunReport:
    """``promoter apply PLAN --finish``: every blob in place (else ``IncompleteContentError``,
    exit 1, nothing written), then the plan applied: manifests, tags, records."""
    started = time.monotonic()
    plan = load_plan(path)
    pipeline = bind_plan(plan, path, pipeline_file)
    report = RunReport(plan.file, False, ("promote",), dict(plan.context))
    report.plan = plan
    options = registry_options(plan.registries, insecure_registries, ca_file)
    with Registries(options) as registries:
        report.checks = _trusted(plan, pipeline, registries, path)
        homes = plan_homes(plan)
        require_complete(plan, registries, homes=homes)  # what is there, the apply knows
        applying = ApplyOptions(
            version=__version__, now=now, check_fresh=True, listener=listener, homes=homes
        )
        report.promotion = apply_plan(plan, registries, applying)
    report.seconds = time.monotonic() - started
    return report
