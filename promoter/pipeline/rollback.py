"""``promoter rollback``: plan a mutable tag's move back, check the target, apply it.

The plan is a promotion plan of kind ``rollback``: one image, its target digest,
one ``tag`` (or ``noop``) action per destination of the rules that write the tag,
each with the digest the tag names now, so ``promoter apply`` can refuse it if a
tag moved since. The target is checked again against the pipeline's current
policies (unless ``--skip-checks``, which the plan and the record keep); a
failure blocks the plan (exit 1), as it blocks a promotion.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from promoter import __version__
from promoter.config import load_pipeline
from promoter.pipeline.planning import PlanInputs, pipeline_digest, plan_context, recorded_path
from promoter.pipeline.policies import PolicyChecker
from promoter.pipeline.report import RunReport
from promoter.pipeline.settings import ci_run_url, registry_hosts, registry_options, run_environ
from promoter.promote import ApplyOptions, ImagePlan, PromotionPlan, TagAction, apply_plan, block
from promoter.promote.plan import RollbackInfo
from promoter.promote.rollback import RuleTarget, check_promoted, find_target, rule_targets
from promoter.promote.stopping import StopRequest
from promoter.registry.remote.pool import Registries
from promoter.settings import Settings
from promoter.structs import field, struct
from promoter.tagging import detect_context

if TYPE_CHECKING:
    from promoter.config import Image

__all__ = ["RollbackRequest", "rollback_tag"]


@struct(frozen=True)
class RollbackRequest:
    """``promoter rollback IMAGE --tag TAG``: what to move back, to what, and how."""

    image: str
    tag: str
    pipeline_file: str = "pipeline.yml"
    to: str = "previous"
    reason: str = ""
    skip_checks: bool = False
    dry_run: bool = False
    insecure_registries: tuple[str, ...] = ()
    ca_file: str | None = None
    env: Mapping[str, str] | None = None
    now: datetime | None = None
    #: The run's settings (None: from this process's environment, see ``run_settings``).
    settings: Settings | None = field(default=None, compare=False)
    #: The run's interrupt request, which the CLI's signal handlers set (None: none).
    stop: StopRequest | None = field(default=None, compare=False)


def rollback_tag(request: RollbackRequest) -> RunReport:
    """Plan the rollback (reads only); unless ``dry_run``, apply it. The report's plan is
    of kind ``rollback``; its promotion outcome says what moved."""
    started = time.monotonic()
    env = run_environ(request.env, request.settings)
    now = request.now or datetime.now(timezone.utc)
    pipeline = load_pipeline(request.pipeline_file)
    targets = rule_targets(pipeline, request.image, request.tag)
    context, repository = detect_context(pipeline.base_dir, env)
    report = RunReport(str(pipeline.file), request.dry_run, ("promote",), context.to_dict())
    report.context["runUrl"] = ci_run_url(env)
    hosts = registry_hosts(pipeline)
    options = registry_options(
        hosts, request.insecure_registries, request.ca_file, request.settings
    )
    declared = pipeline.images[request.image]
    with (
        Registries(options) as registries,
        ThreadPoolExecutor(8, thread_name_prefix="rollback-plan") as pool,
    ):
        digest, currents = find_target(registries, targets, request.tag, request.to, pool)
        check_promoted(registries, targets, digest, pool)
        image = _image_plan(request, declared, targets, digest, currents)
        if not request.skip_checks and image.writes:
            checker = PolicyChecker(pipeline, registries, now, context.sha)
            checked = checker.check(targets[0].destination.with_digest(digest))
            report.checks[request.image] = checked
            image.policy = checked.to_dict()
            if not checked.ok:
                block(image.actions, f"policy failed: {checked.count('fail')} enforced rule(s)")
        plan = PromotionPlan(
            file=str(pipeline.file),
            created=now.isoformat(timespec="seconds"),
            images=[image],
            registries={h: dict(v) for h, v in hosts.items()},
            context={
                **plan_context(PlanInputs(pipeline, context, repository, now, {}, check=False)),
                "runUrl": report.context["runUrl"],
            },
            # Bound to its pipeline file as a promotion plan is (see pipeline.binding).
            pipeline={
                "path": recorded_path(pipeline.file),
                "sha256": pipeline_digest(pipeline.file),
            },
            kind="rollback",
            rollback=RollbackInfo(request.tag, request.to, request.reason, request.skip_checks),
        )
        report.plan = plan
        if not request.dry_run:
            stop = request.stop or StopRequest()
            applying = ApplyOptions(version=__version__, now=now, check_fresh=True, stop=stop)
            report.promotion = apply_plan(plan, registries, applying)
    report.seconds = time.monotonic() - started
    return report


def _image_plan(
    request: RollbackRequest,
    declared: Image,
    targets: Sequence[RuleTarget],
    digest: str,
    currents: Mapping[str, str | None],
) -> ImagePlan:
    """The image's part of the plan: a ``tag`` (or ``noop``) action per destination."""
    image = ImagePlan(
        request.image,
        f"{declared.staging.host}/{declared.staging.repository}",
        digest,
        "rollback",
    )
    for target in targets:
        name = target.destination.name
        current = currents[name]
        if current == digest:
            action, reason = "noop", "the tag already names this digest"
        else:
            action = "tag"
            reason = f"content present; mutable tag moves back from {current or 'nothing'}"
        image.actions.append(
            TagAction(name, request.tag, action, current, True, target.when, reason, target.line)
        )
    return image
