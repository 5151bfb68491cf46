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

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

from promoter.errors import InputError
from promoter.pipeline.binding import bind_plan
from promoter.pipeline.rechecks import recheck_policies
from promoter.pipeline.settings import registry_options, run_environ
from promoter.promote import PromotionPlan, load_plan
from promoter.promote.apply import check_provenance, plan_homes
from promoter.promote.freshness import check_freshness
from promoter.promote.shard import ShardReport, ShardSpec, require_complete, run_shard
from promoter.registry.remote.pool import Registries
from promoter.settings import Settings

if TYPE_CHECKING:
    from promoter.config import Pipeline
    from promoter.policy.results import CheckReport
    from promoter.transfer import BlobHomes

__all__ = ["apply_shard_file", "finish_checks"]


def _trusted(
    plan: PromotionPlan,
    pipeline: Pipeline,
    registries: Registries,
    path: str,
    now: datetime | None = None,
) -> dict[str, CheckReport]:
    """What ``apply_plan`` refuses first: another kind of plan, unknown digests, a failing
    policy (checked again, not read from the plan), a stale plan. The check reports."""
    if plan.kind != "promotion":
        raise InputError(
            f"a {plan.kind} plan moves tags only, it has no content to shard",
            hint="apply it whole: 'promoter apply PLAN', without --shard or --finish",
        )
    check_provenance(plan)
    reports = recheck_policies(plan, pipeline, registries, path, now)
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
    settings: Settings | None = None,
) -> ShardReport:
    """``promoter apply PLAN --shard I/N``: shard I's blobs to their destinations; no tag."""
    plan = load_plan(path)
    pipeline = bind_plan(plan, path, pipeline_file, run_environ(None, settings))
    options = registry_options(plan.registries, insecure_registries, ca_file, settings)
    with Registries(options) as registries:
        _trusted(plan, pipeline, registries, path)
        return run_shard(plan, registries, shard)


def finish_checks(
    plan: PromotionPlan,
    pipeline: Pipeline,
    registries: Registries,
    path: str,
    now: datetime | None = None,
) -> tuple[dict[str, CheckReport], BlobHomes]:
    """What ``apply PLAN --finish`` checks before it applies: what a shard refuses, then
    every blob in place (else ``IncompleteContentError``, exit 1, nothing written). The
    check reports, and the blob homes the apply goes on with."""
    reports = _trusted(plan, pipeline, registries, path, now)
    homes = plan_homes(plan)
    require_complete(plan, registries, homes=homes)  # what is there, the apply knows
    return reports, homes
