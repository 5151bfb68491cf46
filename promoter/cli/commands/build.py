"""``promoter build``: build images with kaniko and push them to staging."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from promoter.ci.buildlog import GroupedBuildLog
from promoter.cli.options import file_option, insecure_registry_option, output_option, quiet_option
from promoter.cli.render import emit, log
from promoter.cli.state import STATE

__all__ = ["build"]


def _text(report: dict[str, Any]) -> str:
    lines: list[str] = []
    for image in report["images"]:
        for one in image["builds"]:
            where = one["staging"] or f"{one['digest']} (not pushed; tarball {one['tarball']})"
            platform = f" [{one['platform']}]" if one["platform"] else ""
            lines.append(f"{image['image']}{platform}: {where}")
            lines.extend(f"  tagged {tag}" for tag in one.get("stagingTags", []))
    return "\n".join(lines)


def _metadata(pipeline: Any, images: tuple[str, ...]) -> dict[str, Any]:
    """Per image: tags and labels from the git context, and its template expansion."""
    from datetime import datetime, timezone
    from functools import partial

    from promoter.build.stage import metadata_from_tags_document
    from promoter.tagging import expand_template
    from promoter.tagging.stage import image_metadata, pipeline_tags

    now = datetime.now(timezone.utc)
    report = pipeline_tags(pipeline, images, now=now)
    for warning in report.warnings:
        log(f"warning: {warning}")
    metadata = metadata_from_tags_document(report.to_dict())
    for name, meta in metadata.items():
        computed = image_metadata(pipeline.image(name), report.context, report.repository, now=now)
        expand = partial(
            expand_template,
            metadata=computed,
            context=report.context,
            repository=report.repository,
            now=now,
        )
        metadata[name] = replace(meta, render=expand)
    return metadata


@click.command()
@file_option
@click.option(
    "--image", "images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@click.option("--no-push", is_flag=True, help="Build only; keep the tarball, push nothing.")
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def build(
    pipeline_file: str,
    images: tuple[str, ...],
    no_push: bool,
    output: str,
    quiet: bool,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Build the pipeline's images with kaniko (no BuildKit) and push them to staging.

    kaniko runs in a container through the Docker engine (or directly when
    promoter runs inside a kaniko image) and writes a tarball; promoter pushes
    it to the staging repository by digest, then writes the staging tags.
    """
    from promoter.build.stage import build_stage
    from promoter.config import load_pipeline
    from promoter.tagging.stage import select_images

    pipeline = load_pipeline(pipeline_file)
    chosen = select_images(pipeline, images)
    metadata = _metadata(pipeline, images)
    output_root = Path(tempfile.mkdtemp(prefix="promoter-build-"))
    from promoter.build.push import build_credentials, registry_options, staging_pusher

    options = registry_options(pipeline, insecure_registries=insecure_registries, ca_file=ca_file)
    with contextlib.ExitStack() as cleanup:
        push = None
        if not no_push:  # the tarballs are pushed, then removed; --no-push keeps them
            cleanup.callback(shutil.rmtree, output_root, ignore_errors=True)
            push = cleanup.enter_context(staging_pusher(pipeline, options=options))
        report = build_stage(
            pipeline,
            chosen,
            metadata,
            output_root=output_root,
            log=GroupedBuildLog(STATE.ci, quiet=STATE.quiet),
            push=push,
            stitch=push.stitch if push is not None else None,
            credentials=build_credentials(options),
            insecure_registries=insecure_registries,
        )
    emit(report, _text)
