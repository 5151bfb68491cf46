"""The build stage as ``promoter build`` and ``promoter run`` both run it.

Per image: the tag stage's staging tags and labels, kaniko's builds (build
arguments expanded by the tag engine's templates), then, unless asked not to,
the push to staging by digest and the index of its platforms.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from promoter.build.outcome import BuildReport
from promoter.build.push import StagingPusher, build_credentials
from promoter.build.stage import BuildLog, ImageMetadata, build_stage
from promoter.config import Pipeline, load_pipeline
from promoter.pipeline.planning import Built
from promoter.pipeline.settings import BuildRequest, registry_hosts, registry_options
from promoter.registry.options import RegistryOptions
from promoter.tagging import expand_template
from promoter.tagging.stage import TagsReport, image_metadata, pipeline_tags

__all__ = [
    "BuildSettings",
    "SilentBuildLog",
    "build_images",
    "build_pipeline",
    "staged_digests",
]


@dataclass(frozen=True)
class BuildSettings:
    """How the builds run: the run's registry options, the log, push or not, keep tarballs."""

    options: RegistryOptions
    log: BuildLog
    push: bool = True
    #: Leave the tarballs on disk (``promoter build --no-push``); else they are removed.
    keep_tarballs: bool = False
    insecure_registries: tuple[str, ...] = ()


class SilentBuildLog:
    """A build log that keeps nothing (the CLI passes one that prints)."""

    def begin(self, title: str) -> None:
        """A build starts."""

    def line(self, text: str) -> None:
        """One line of kaniko's output."""

    def end(self) -> None:
        """The build ended."""


def build_pipeline(request: BuildRequest) -> BuildReport:
    """``promoter build``: tag, build and (unless ``request.push`` is off) push the images."""
    env = os.environ if request.env is None else request.env
    now = request.now or datetime.now(timezone.utc)
    pipeline = load_pipeline(request.pipeline_file)
    tags = pipeline_tags(pipeline, request.images, env=env, now=now)
    if request.warn is not None:
        for warning in tags.warnings:
            request.warn(warning)
    options = registry_options(
        registry_hosts(pipeline), request.insecure_registries, request.ca_file
    )
    settings = BuildSettings(
        options,
        request.log or SilentBuildLog(),
        push=request.push,
        keep_tarballs=not request.push,
        insecure_registries=request.insecure_registries,
    )
    return build_images(pipeline, tags, now, settings)


def build_images(
    pipeline: Pipeline, tags: TagsReport, now: datetime, settings: BuildSettings
) -> BuildReport:
    """Build the images ``tags`` names, each under its tags and labels; push them when asked."""
    metadata = _build_metadata(pipeline, tags, now)
    images = [pipeline.image(entry.image) for entry in tags.images]
    output_root = Path(tempfile.mkdtemp(prefix="promoter-build-"))
    with contextlib.ExitStack() as cleanup:
        if not settings.keep_tarballs:
            cleanup.callback(shutil.rmtree, output_root, ignore_errors=True)
        staging = [(i.staging.host, i.staging.repository) for i in pipeline.images.values()]
        pusher = StagingPusher(settings.options, staging) if settings.push else None
        push = cleanup.enter_context(pusher) if pusher is not None else None
        return build_stage(
            pipeline,
            images,
            metadata,
            output_root=output_root,
            log=settings.log,
            push=push,
            stitch=push.stitch if push is not None else None,
            credentials=build_credentials(settings.options),
            insecure_registries=settings.insecure_registries,
        )


def staged_digests(report: BuildReport) -> dict[str, Built]:
    """The digest each image has in staging after the build: its index, or its one build."""
    out: dict[str, Built] = {}
    for image in report.images:
        staged = image.staged
        if staged is not None:
            out[image.image] = Built(staged.digest, staged.tags[0] if staged.tags else None)
    return out


def _build_metadata(
    pipeline: Pipeline, tags: TagsReport, now: datetime
) -> Mapping[str, ImageMetadata]:
    """Per image: the tag stage's names and labels, and the tag engine's template expansion."""
    context, repository = tags.context, tags.repository
    known = {"sha": context.sha, "branch": context.branch, "tag": context.tag, "ref": context.ref}
    variables = {name: str(value) for name, value in known.items() if value}
    metadata: dict[str, ImageMetadata] = {}
    for entry in tags.images:
        computed = image_metadata(pipeline.image(entry.image), context, repository, now=now)
        metadata[entry.image] = ImageMetadata(
            version=entry.version,
            tag_names=entry.tag_names,
            labels=dict(entry.labels),
            variables=variables,
            render=partial(
                expand_template,
                metadata=computed,
                context=context,
                repository=repository,
                now=now,
            ),
        )
    return metadata
