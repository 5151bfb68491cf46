"""``promoter prune`` and ``promoter apply prune.json``: staging retention over a pipeline file.

``plan_prune`` surveys each image's staging repository (the images with a
``retention``), decides what to delete and keep, and with ``apply`` deletes
at once; ``apply_prune_file`` deletes exactly what a written plan lists.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from promoter.config import load_pipeline
from promoter.config.inputfile import read_json_input
from promoter.errors import ConfigError, InputError
from promoter.files import write_file
from promoter.oci.reference import Reference
from promoter.pipeline.binding import UnboundPlanError, bound_pipeline
from promoter.pipeline.planning import pipeline_digest, recorded_path
from promoter.pipeline.settings import registry_options
from promoter.promote.prune import DeletionReport, PrunePlan, apply_prune, prune_plan_from_dict
from promoter.promote.retention import RepositoryRules, plan_repository
from promoter.promote.survey import survey_repository
from promoter.registry.remote.pool import Registries
from promoter.settings import Settings
from promoter.structs import field, struct

__all__ = [
    "PruneReport",
    "PruneRequest",
    "apply_prune_file",
    "is_prune_plan",
    "plan_prune",
]


@struct(frozen=True)
class PruneRequest:
    """``promoter prune``: the file, the images (none: every one), apply or not, transport."""

    pipeline_file: str = "pipeline.yml"
    images: tuple[str, ...] = ()
    apply: bool = False
    insecure_registries: tuple[str, ...] = ()
    ca_file: str | None = None
    now: datetime | None = None
    #: The run's settings (None: from this process's environment, see ``run_settings``).
    settings: Settings | None = field(default=None, compare=False)


@struct
class PruneReport:
    """The plan, and what applying it did (None: a dry run)."""

    plan: PrunePlan
    outcome: DeletionReport | None = None
    seconds: float = 0.0
    plan_seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """1 when apply skipped a digest whose world moved, else 0."""
        return 1 if self.outcome is not None and self.outcome.skipped else 0

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan.to_dict()
        document = {
            "kind": "prune",
            "ok": self.exit_code == 0,
            "dryRun": self.outcome is None,
            "pipelineFile": plan["pipelineFile"],
            "delete": plan["delete"],
            "keep": plan["keep"],
            "notes": plan["notes"],
            "stagingDigests": plan["stagingDigests"],
            "requests": plan["requests"],
            "planSeconds": round(self.plan_seconds, 3),
            "seconds": round(self.seconds, 3),
        }
        if self.outcome is not None:
            document["applied"] = self.outcome.to_dict()
        return document


def _rules(pipeline: Any, images: Sequence[str]) -> list[RepositoryRules]:
    unknown = [name for name in images if name not in pipeline.images]
    if unknown:
        raise InputError(
            f"no image {unknown[0]!r} in {pipeline.file.name}",
            hint=f"images: {', '.join(pipeline.images)}",
        )
    found: dict[str, RepositoryRules] = {}
    for image in pipeline.images.values():
        retention = pipeline.retention_of(image)
        if retention is None or (images and image.name not in images):
            continue
        destinations = dict.fromkeys(t.name for rule in image.promote for t in rule.to)
        rules = RepositoryRules(image.name, image.staging.name, retention, tuple(destinations))
        if rules.repository in found:  # two images, one staging repository: both destinations
            before = found[rules.repository]
            merged = dict.fromkeys((*before.destinations, *rules.destinations))
            rules = RepositoryRules(
                before.image, before.repository, before.retention, tuple(merged)
            )
        found[rules.repository] = rules
    if not found:
        raise InputError(
            f"{pipeline.file.name} has no retention: nothing to prune",
            hint="add retention: {keep_last: 20} at the top level or under an image",
        )
    return list(found.values())


def _requests(registries: Any, plan: PrunePlan) -> dict[str, int]:
    """Requests sent so far to each host the plan's repositories live on."""
    hosts = {
        r.partition("/")[0] for rules in plan.rules for r in (rules.repository, *rules.destinations)
    }
    return {host: registries.client(host).transport.stats.requests for host in sorted(hosts)}


def plan_prune(request: PruneRequest) -> PruneReport:
    """Plan the deletes of every staging repository with a retention; apply when asked."""
    started = time.monotonic()
    now = request.now or datetime.now(timezone.utc)
    pipeline = load_pipeline(request.pipeline_file)
    settings = pipeline.registry_settings()
    plan = PrunePlan(str(pipeline.file), settings, _rules(pipeline, request.images))
    plan.created_at = now.isoformat()
    plan.pipeline = {
        "path": recorded_path(pipeline.file),
        "sha256": pipeline_digest(pipeline.file),
    }
    options = registry_options(
        settings, request.insecure_registries, request.ca_file, request.settings
    )
    with Registries(options) as registries:
        for rules in plan.rules:
            host, _, name = rules.repository.partition("/")
            survey = survey_repository(registries.client(host), Reference(host, name))
            plan.digests += len(survey.stored)
            delete, keep = plan_repository(registries, survey, rules, now)
            plan.delete += delete
            plan.keep += keep
        plan.requests = _requests(registries, plan)
        report = PruneReport(plan, plan_seconds=time.monotonic() - started)
        if request.apply:
            report.outcome = _apply(plan, registries)
    report.seconds = time.monotonic() - started
    return report


def _apply(plan: PrunePlan, registries: Any) -> DeletionReport:
    before = _requests(registries, plan)
    started = time.monotonic()
    outcome = apply_prune(plan, registries)
    outcome.seconds = time.monotonic() - started
    after = _requests(registries, plan)
    outcome.requests = {h: n - before.get(h, 0) for h, n in after.items()}
    return outcome


def is_prune_plan(path: str) -> bool:
    """Whether the plan file at ``path`` is a prune plan (``"kind": "prune"``); a file
    that cannot be read is left to the promotion plan's reader to refuse."""
    try:
        data = read_json_input(path, what="plan")
    except InputError:
        return False
    return isinstance(data, dict) and data.get("kind") == "prune"


def load_prune_plan(path: str) -> PrunePlan:
    """A prune plan file, checked (``ConfigError``, exit 2, when it is not one)."""
    data = read_json_input(path, what="plan", hint="write one with 'promoter prune --out FILE'")
    if not isinstance(data, dict):
        raise ConfigError("the plan is not a JSON object", file=path)
    return prune_plan_from_dict(data, path)


def bind_prune_plan(plan: PrunePlan, where: str, pipeline_file: str | None = None) -> None:
    """Hold ``plan`` to its pipeline file, as a promotion plan is held: the file's bytes are
    the ones the plan was made from; every repository it deletes in is a staging repository
    that the file gives a retention; the rules each delete is checked against again, and the
    registries' settings and credentials, come from the file, never from the plan."""
    path, pipeline = bound_pipeline(plan.pipeline, where, pipeline_file)
    allowed = {rules.repository: rules for rules in _rules(pipeline, ())}
    named = dict.fromkeys(
        [*(r.repository for r in plan.rules), *(e.repository for e in plan.delete)]
    )
    foreign = [repository for repository in named if repository not in allowed]
    if foreign:
        raise UnboundPlanError(
            f"{where}: {foreign[0]} is not a staging repository with a retention in {path}; "
            "nothing was deleted",
            hint="make the plan again with 'promoter prune --out prune.json' and review it",
        )
    plan.rules = [allowed[repository] for repository in named]
    plan.registries = pipeline.registry_settings()
    plan.pipeline_file = str(pipeline.file)


def apply_prune_file(
    path: str,
    *,
    insecure_registries: Sequence[str] = (),
    ca_file: str | None = None,
    pipeline_file: str | None = None,
    settings: Settings | None = None,
) -> PruneReport:
    """``promoter apply prune.json``: delete exactly what the plan lists, each checked again,
    after holding the plan to its pipeline file (``pipeline_file``, else the one it names)."""
    started = time.monotonic()
    plan = load_prune_plan(path)
    bind_prune_plan(plan, path, pipeline_file)
    options = registry_options(plan.registries, insecure_registries, ca_file, settings)
    with Registries(options) as registries:
        report = PruneReport(plan, outcome=_apply(plan, registries))
    report.seconds = time.monotonic() - started
    return report


def write_prune_plan(plan: PrunePlan, path: str) -> None:
    """Write ``plan`` as JSON to ``path``."""
    import json

    write_file(path, json.dumps(plan.to_dict(), indent=2) + "\n")
