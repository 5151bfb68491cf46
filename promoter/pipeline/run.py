"""``promoter run``, ``plan`` and ``apply``: the stages in order, one report.

build (kaniko, when asked) -> push to staging -> plan the promotions (reads
only; the checks run on each staging digest that has something to promote)
-> apply (content everywhere, verified, then tags, then records). ``plan`` is
the same with nothing written: no registry write, no Docker engine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from promoter import __version__
from promoter.pipeline.planning import Built, PlanInputs, plan_images
from promoter.pipeline.report import RunReport
from promoter.pipeline.settings import (
    RunRequest,
    ci_run_url,
    registry_hosts,
    registry_options,
)
from promoter.registry.pool import Registries

if TYPE_CHECKING:
    from promoter.config import Image, Pipeline
    from promoter.tagging import GitContext, RepositoryInfo

__all__ = ["apply_plan_file", "run_pipeline"]


def run_pipeline(request: RunRequest) -> RunReport:
    """Run the requested stages (or plan them, with ``dry_run``) and report every outcome."""
    from promoter.config import load_pipeline
    from promoter.tagging import detect_context
    from promoter.tagging.stage import image_metadata, pipeline_tags, select_images

    started = time.monotonic()
    env = os.environ if request.env is None else request.env
    now = request.now or datetime.now(timezone.utc)
    pipeline = load_pipeline(request.pipeline_file)
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
    built: dict[str, Built] = {}
    if "build" in request.stages and not request.dry_run:
        git = (context, repository)
        tags = pipeline_tags(pipeline, request.images, env=env, now=now, context=git)
        built = _build(pipeline, images, request, now, tags.to_dict(), report, git)
    elif "build" in request.stages:
        report.notes.append("build: not run in a dry run; digests come from the staging tags")
    elif "push" in request.stages:
        report.notes.append("push: nothing built in this run; digests come from the staging tags")
    hosts = registry_hosts(pipeline)
    options = registry_options(hosts, request.insecure_registries, request.ca_file)
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
    hosts: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> None:
    from promoter.promote import ApplyOptions, apply_plan

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
            version=__version__, now=now, check_fresh=False, listener=request.listener
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
    from promoter.oci.reference import parse_registry_reference
    from promoter.pipeline.checks import PolicyChecker

    checker = PolicyChecker(inputs.pipeline, registries, now)
    for image in plan.images:
        if image.digest is None:
            report.notes.append(f"check: {image.image} has no digest in staging yet")
            continue
        reference = parse_registry_reference(f"{image.source}@{image.digest}")
        report.checks[image.image] = checker.check(reference)


def _build(
    pipeline: Pipeline,
    images: Sequence[Image],
    request: RunRequest,
    now: datetime,
    tags_document: Mapping[str, Any],
    report: RunReport,
    git: tuple[GitContext, RepositoryInfo],
) -> dict[str, Built]:
    import contextlib
    import shutil
    import tempfile
    from pathlib import Path

    from promoter.build import push as staging
    from promoter.build.stage import build_stage

    metadata = _build_metadata(images, tags_document, now, git)
    output_root = Path(tempfile.mkdtemp(prefix="promoter-run-"))
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, output_root, ignore_errors=True)
        options = staging.registry_options(
            pipeline, insecure_registries=request.insecure_registries, ca_file=request.ca_file
        )
        credentials = staging.build_credentials(options)
        push = None
        if "push" in request.stages:
            push = cleanup.enter_context(staging.staging_pusher(pipeline, options=options))
        else:
            report.notes.append("push: not requested; the build's tarball is discarded")
        built = build_stage(
            pipeline,
            images,
            metadata,
            output_root=output_root,
            log=request.build_log or _SilentLog(),
            push=push,
            stitch=push.stitch if push is not None else None,
            credentials=credentials,
            insecure_registries=request.insecure_registries,
        )
    report.build = built
    return _built_digests(built)


def _built_digests(build_report: Mapping[str, Any]) -> dict[str, Built]:
    """The pushed digest of each image: its one build, or the index of its platforms."""
    out: dict[str, Built] = {}
    for image in build_report.get("images", []):
        builds = [b for b in image.get("builds", []) if b.get("pushed")]
        index = image.get("index")
        if index:
            tags = index.get("stagingTags") or [None]
            out[str(image["image"])] = Built(str(index["digest"]), tags[0])
        elif len(builds) == 1:
            tags = builds[0].get("stagingTags") or [None]
            out[str(image["image"])] = Built(str(builds[0]["digest"]), tags[0])
    return out


def _build_metadata(
    images: Sequence[Image],
    document: Mapping[str, Any],
    now: datetime,
    git: tuple[GitContext, RepositoryInfo],
) -> dict[str, Any]:
    from dataclasses import replace
    from functools import partial

    from promoter.build.stage import metadata_from_tags_document
    from promoter.tagging import expand_template
    from promoter.tagging.stage import image_metadata

    context, repository = git
    metadata = metadata_from_tags_document(document)
    for image in images:
        computed = image_metadata(image, context, repository, now=now)
        expand = partial(
            expand_template, metadata=computed, context=context, repository=repository, now=now
        )
        metadata[image.name] = replace(metadata[image.name], render=expand)
    return metadata


class _SilentLog:
    """A build log that keeps nothing (the CLI passes one that prints)."""

    def begin(self, title: str) -> None:
        """A build starts."""

    def line(self, text: str) -> None:
        """One line of kaniko's output."""

    def end(self) -> None:
        """The build ended."""


def apply_plan_file(
    path: str,
    *,
    insecure_registries: Sequence[str] = (),
    ca_file: str | None = None,
    now: datetime | None = None,
    listener: Any = None,
) -> RunReport:
    """``promoter apply PLAN.json``: carry out a reviewed plan, refusing if the world moved.

    ``listener`` (a ``promoter.transfer.ProgressListener``) hears the blobs move.
    """
    from promoter.promote import ApplyOptions, apply_plan, load_plan

    started = time.monotonic()
    plan = load_plan(path)
    report = RunReport(plan.file, False, ("promote",), dict(plan.context))
    report.plan = plan
    options = registry_options(plan.registries, insecure_registries, ca_file)
    with Registries(options) as registries:
        applying = ApplyOptions(version=__version__, now=now, check_fresh=True, listener=listener)
        report.promotion = apply_plan(plan, registries, applying)
    report.seconds = time.monotonic() - started
    return report
