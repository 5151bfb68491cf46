"""``promoter run``, ``plan`` and ``apply``: the stages in order, one report.

build (kaniko, when asked) -> push to staging -> plan the promotions (reads
only; the checks run on each staging digest that has something to promote)
-> apply (content everywhere, verified, then tags, then records). ``plan`` is
the same with nothing written: no registry write, no Docker engine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from promoter import __version__
from promoter.config import load_pipeline
from promoter.notices import tell
from promoter.oci.reference import parse_registry_reference
from promoter.pipeline.binding import bind_plan
from promoter.pipeline.builds import BuildSettings, SilentBuildLog, build_images, staged_digests
from promoter.pipeline.planning import Built, PlanInputs, plan_images
from promoter.pipeline.policies import PolicyChecker
from promoter.pipeline.rechecks import recheck_policies
from promoter.pipeline.report import RunReport
from promoter.pipeline.settings import (
    RunRequest,
    ci_run_url,
    registry_hosts,
    registry_options,
    run_environ,
)
from promoter.pipeline.shards import finish_checks
from promoter.promote import ApplyOptions, apply_plan, load_plan
from promoter.promote.apply import check_provenance
from promoter.promote.stopping import StopRequest
from promoter.registry.remote.pool import Registries
from promoter.settings import Settings
from promoter.tagging import detect_context
from promoter.tagging.stage import image_metadata, pipeline_tags, select_images

if TYPE_CHECKING:
    from promoter.config import Image
    from promoter.transfer import ProgressListener

__all__ = ["apply_plan_file", "run_pipeline"]


def run_pipeline(request: RunRequest) -> RunReport:
    """Run the requested stages (or plan them, with ``dry_run``) and report every outcome.

    The registry options are made once here, for the build's push and for
    every registry the checks and the promotion reach.
    """
    started = time.monotonic()
    env = run_environ(request.env, request.settings)
    now = request.now or datetime.now(timezone.utc)
    pipeline = load_pipeline(request.pipeline_file)
    for warning in pipeline.warnings:  # on stderr first (the report's notes have it too)
        tell("promoter.pipeline", str(warning))
    images = select_images(pipeline, request.images)
    context, repository = detect_context(pipeline.base_dir, env)
    metadata = {i.name: image_metadata(i, context, repository, now=now) for i in images}
    report = RunReport(str(pipeline.file), request.dry_run, request.stages, context.to_dict())
    report.context["runUrl"] = ci_run_url(env)
    report.tags = [
        {
            "image": image.name,
            "staging": image.staging.name,
            "version": metadata[image.name].version.main or "",
            "tagNames": metadata[image.name].tag_names,
        }
        for image in images
    ]
    report.notes += [f"warning: {w}" for w in context.warnings]
    report.notes += [f"warning: {w.located()}" for w in pipeline.warnings]
    hosts = registry_hosts(pipeline)
    options = registry_options(
        hosts, request.insecure_registries, request.ca_file, request.settings
    )
    built: dict[str, Built] = {}
    if "build" in request.stages and not request.dry_run:
        if "push" not in request.stages:
            report.notes.append("push: not requested; the build's tarball is discarded")
        git = (context, repository)
        tags = pipeline_tags(pipeline, request.images, env=env, now=now, context=git)
        settings = BuildSettings(
            options,
            request.build_log or SilentBuildLog(),
            push="push" in request.stages,
            insecure_registries=request.insecure_registries,
            env=env,
        )
        report.build = build_images(pipeline, tags, now, settings)
        built = staged_digests(report.build)
    elif "build" in request.stages:
        report.notes.append("build: not run in a dry run; digests come from the staging tags")
    elif "push" in request.stages:
        report.notes.append("push: nothing built in this run; digests come from the staging tags")
    with Registries(options) as registries:
        inputs = PlanInputs(pipeline, context, repository, now, built, True, metadata)
        if "promote" in request.stages:
            _promote(inputs, images, registries, request, report, hosts, now)
        elif "check" in request.stages:
            _check_only(inputs, images, registries, report, now)
    report.seconds = time.monotonic() - started
    return report


def _promote(
    inputs: PlanInputs,
    images: Sequence[Image],
    registries: Registries,
    request: RunRequest,
    report: RunReport,
    hosts: Mapping[str, Mapping[str, object]],
    now: datetime,
) -> None:
    if "check" not in request.stages:
        report.notes.append("check: runs anyway, only a checked digest is promoted")
    plan, checks = plan_images(
        inputs,
        images,
        registries,
        created=now.isoformat(timespec="seconds"),
        run_url=report.context.get("runUrl"),
        hosts=hosts,
    )
    report.plan, report.checks = plan, checks
    if not request.dry_run:
        # Planned a moment ago: no separate freshness pass; apply still looks at
        # every immutable tag right before writing it.
        options = ApplyOptions(
            version=__version__,
            now=now,
            check_fresh=False,
            listener=request.listener,
            stop=request.stop or StopRequest(),
        )
        report.promotion = apply_plan(plan, registries, options)


def _check_only(
    inputs: PlanInputs,
    images: Sequence[Image],
    registries: Registries,
    report: RunReport,
    now: datetime,
) -> None:
    """``--stage check`` without promote: check every image whose digest is known."""
    unchecked = PlanInputs(
        inputs.pipeline, inputs.context, inputs.repository, now, inputs.built, check=False
    )
    plan, _ = plan_images(unchecked, images, registries, created=now.isoformat())
    checker = PolicyChecker(inputs.pipeline, registries, now, inputs.context.sha)
    for image in plan.images:
        if image.digest is None:
            report.notes.append(f"check: {image.image} has no digest in staging yet")
            continue
        reference = parse_registry_reference(f"{image.source}@{image.digest}")
        report.checks[image.image] = checker.check(reference)


def apply_plan_file(
    path: str,
    *,
    finish: bool = False,
    skip_checks: bool = False,
    insecure_registries: Sequence[str] = (),
    ca_file: str | None = None,
    now: datetime | None = None,
    listener: ProgressListener | None = None,
    pipeline_file: str | None = None,
    settings: Settings | None = None,
    stop: StopRequest | None = None,
) -> RunReport:
    """``promoter apply PLAN.json``: carry out a reviewed plan, refusing if the world moved,
    if it does what its pipeline file (``pipeline_file``, else the one it names) does not,
    or if an enforced policy fails on a digest it writes (checked again here).

    ``finish`` (``apply PLAN --finish``): ``--shard`` jobs uploaded the blobs; refuse as
    a shard does, then require every blob in place (else ``IncompleteContentError``,
    exit 1, nothing written) before applying: manifests, tags, records. ``skip_checks``
    (``apply --skip-checks``) applies a rollback plan made with ``--skip-checks``.

    ``listener`` (a ``promoter.transfer.ProgressListener``) hears the blobs move;
    ``settings`` are the run's (see ``run_settings``); ``stop`` its interrupt request.
    """
    started = time.monotonic()
    plan = load_plan(path)
    pipeline = bind_plan(plan, path, pipeline_file, run_environ(None, settings))
    report = RunReport(plan.file, False, ("promote",), dict(plan.context))
    report.plan = plan
    options = registry_options(plan.registries, insecure_registries, ca_file, settings)
    with Registries(options) as registries:
        if finish:
            report.checks, homes = finish_checks(plan, pipeline, registries, path, now)
        else:
            check_provenance(plan)  # bad input before any request
            report.checks, homes = (
                recheck_policies(plan, pipeline, registries, path, now, skip_checks),
                None,
            )
        applying = ApplyOptions(
            version=__version__,
            now=now,
            check_fresh=True,
            listener=listener,
            homes=homes,
            stop=stop or StopRequest(),
        )
        report.promotion = apply_plan(plan, registries, applying)
    report.seconds = time.monotonic() - started
    return report
