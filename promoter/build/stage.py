"""The build stage of a pipeline: build each selected image, then push it to staging.

Input: the loaded pipeline and, per image, what the tag stage computed (its
staging tags and OCI labels, see :class:`ImageMetadata`). Each image is built
once per platform; unless ``push`` is off, each tarball is then pushed to the
staging repository by digest and the staging tags are written (see
:mod:`promoter.build.push`). The result is a :class:`BuildReport`: per image,
its builds (``staging-repo@sha256:...`` and tags) and the index of its platforms.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from promoter.build.credentials import CredentialLookup
from promoter.build.from_config import specs_from_image
from promoter.build.report import BuildReport, ImageBuild, PlatformBuild, PushedImage
from promoter.build.result import BuildResult
from promoter.build.runner import ModeChoice, build_image
from promoter.build.spec import BuildSpec
from promoter.config import Image, Pipeline
from promoter.structs import field, replace, struct

__all__ = [
    "BuildLog",
    "ImageMetadata",
    "PushFunction",
    "PushedImage",
    "StitchFunction",
    "build_stage",
    "render_build_arg",
]


@struct(frozen=True)
class ImageMetadata:
    """What the tag stage computed for one image: version, staging tag names, labels."""

    version: str = ""
    tag_names: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)  # sha, branch, tag, ...
    #: The tag engine's own template expansion, when the caller has it; else
    #: :func:`render_build_arg` expands the plain variables above.
    render: Callable[[str], str] | None = field(default=None, compare=False)


class BuildLog(Protocol):
    """Where the stage reports progress: a titled group per build, kaniko's lines inside."""

    def begin(self, title: str) -> None:
        """A build starts (CI: open a log group)."""

    def line(self, text: str) -> None:
        """One line of kaniko's output."""

    def end(self) -> None:
        """The build ended, well or not (CI: close the group)."""


#: Pushes a finished tarball build to its staging destinations.
PushFunction = Callable[[BuildSpec, BuildResult], PushedImage]

#: Joins per-platform builds in staging (``repo@digest`` each) into one index
#: under the given tags: (staging repository, sources, tags) -> the index.
StitchFunction = Callable[[str, Sequence[str], Sequence[str]], PushedImage]

_TEMPLATE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def render_build_arg(value: str, metadata: ImageMetadata) -> str:
    """Expand ``{{version}}``, ``{{sha}}``, ``{{branch}}``... in a build argument."""
    if metadata.render is not None:
        return metadata.render(value)
    known = {"version": metadata.version, **metadata.variables}

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return known.get(name, match.group(0))

    return _TEMPLATE.sub(one, value)


def _split_tag(reference: str) -> tuple[str, str | None]:
    """``host[:port]/repo[:tag]`` -> (``host[:port]/repo``, tag or None)."""
    name, slash, last = reference.rpartition("/")
    if ":" in last:
        last, _, tag = last.partition(":")
        return f"{name}{slash}{last}", tag
    return reference, None


def _staging_reference(spec: BuildSpec, digest: str) -> str:
    return f"{_split_tag(spec.destinations[0])[0]}@{digest}"


def _build_one(
    spec: BuildSpec,
    *,
    output_dir: Path,
    credentials: CredentialLookup | None,
    log: BuildLog,
    mode: ModeChoice,
    push: PushFunction | None,
) -> PlatformBuild:
    title = f"build {spec.name}" + (f" ({spec.platform})" if spec.platform else "")
    log.begin(title)
    try:
        result = build_image(
            spec, output_dir=output_dir, credentials=credentials, on_log=log.line, mode=mode
        )
    finally:
        log.end()
    if spec.push == "kaniko":
        tags = tuple(t for _, t in map(_split_tag, spec.destinations) if t)
        pushed = PushedImage(_staging_reference(spec, result.digest), result.digest, tags)
        return PlatformBuild(result, spec.destinations, pushed)
    if push is not None:
        return PlatformBuild(result, spec.destinations, push(spec, result))
    return PlatformBuild(result, spec.destinations)


def build_stage(
    pipeline: Pipeline,
    images: Sequence[Image],
    metadata: Mapping[str, ImageMetadata],
    *,
    output_root: Path,
    log: BuildLog,
    push: PushFunction | None = None,
    stitch: StitchFunction | None = None,
    credentials: CredentialLookup | None = None,
    insecure_registries: Sequence[str] = (),
    mode: ModeChoice = "auto",
    env: Mapping[str, str] | None = None,
) -> BuildReport:
    """Build ``images`` (every platform), push each to staging with ``push``.

    ``push=None`` pushes nothing, ``push: kaniko`` images included: kaniko then
    writes a tarball too (``--no-push``), as ``promoter build --no-push`` asks.
    An image built for several platforms is then joined by ``stitch`` into one
    index carrying the image's staging tags (the image's ``index``). Every image's specs
    are made before the first build, so an unset ``{env: VARIABLE}`` stops the run with
    nothing built.
    """
    report: list[ImageBuild] = []
    planned = []
    for image in images:
        meta = metadata.get(image.name, ImageMetadata())
        specs = specs_from_image(
            pipeline,
            image,
            tags=meta.tag_names,
            labels=meta.labels,
            render=functools.partial(render_build_arg, metadata=meta),
            insecure_registries=insecure_registries,
            env=env,
        )
        planned.append((image, meta, specs))
    for image, meta, specs in planned:
        if push is None:  # nothing is pushed: kaniko too writes a tarball (--no-push)
            specs = [replace(spec, push="promoter") for spec in specs]
        builds = tuple(
            _build_one(
                spec,
                output_dir=output_root / spec.name,
                credentials=credentials,
                log=log,
                mode=mode,
                push=push,
            )
            for spec in specs
        )
        index = None
        pushed = [b.pushed.reference for b in builds if b.pushed is not None]
        if stitch is not None and len(builds) > 1 and len(pushed) == len(builds):
            index = stitch(image.staging.name, pushed, meta.tag_names)
        report.append(
            ImageBuild(image.name, image.staging.name, meta.version, meta.tag_names, builds, index)
        )
    return BuildReport(str(pipeline.file), tuple(report))
