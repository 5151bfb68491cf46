"""The facts a build's provenance states that only the world knows: bases, executor, times.

- the base images, from the Dockerfile's ``FROM`` lines (``scratch`` and stage
  names skipped, ``ARG`` defaults and build arguments substituted, the stages
  after the target left out), resolved to digests through promoter's registry
  client; a base that cannot be resolved is named with why, never a failure;
- the executor: its image's digest when the reference pins one or the Docker
  engine knows one, or the executor binary's sha256 when kaniko ran as a
  subprocess.

The statement itself is made by :mod:`promoter.signing.provenance`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.build.docker_engine import repository_digest
from promoter.build.dockerfile import base_images
from promoter.build.subprocess_executor import executor_path
from promoter.errors import PromoterError
from promoter.oci.manifest import Index
from promoter.oci.reference import parse_registry_reference
from promoter.redaction import redact
from promoter.signing.provenance import (
    LOCAL_BUILDER,
    BaseImage,
    BuildFacts,
    ExecutorImage,
    SourceFacts,
    secret_build_args,
)
from promoter.structs import field, struct

if TYPE_CHECKING:
    from promoter.build.report import ImageBuild
    from promoter.build.result import BuildResult
    from promoter.build.spec import BuildSpec
    from promoter.config import Image, Pipeline
    from promoter.registry.remote.pool import Registries

__all__ = [
    "RunFacts",
    "executor_facts",
    "image_build_facts",
    "repository_path",
    "resolve_base_images",
]


def _platform_manifest(index: Index, platform: str) -> str | None:
    for descriptor in index.manifests:
        if descriptor.platform is not None and str(descriptor.platform) == platform:
            return descriptor.digest
    return None


def _resolve(name: str, platform: str | None, registries: Registries) -> BaseImage:
    try:
        reference = parse_registry_reference(name)
        raw = registries.client(reference.api_host).get_manifest(reference)
        view = raw.parse(str(reference))
    except PromoterError as error:
        return BaseImage(name, platform=platform, problem=redact(error.message))
    if platform is None or not isinstance(view, Index):
        return BaseImage(name, raw.digest, platform, raw.digest)
    manifest = _platform_manifest(view, platform)
    if manifest is None:
        problem = f"its index has no {platform} manifest"
        return BaseImage(name, raw.digest, platform, problem=problem)
    return BaseImage(name, raw.digest, platform, manifest)


def resolve_base_images(
    dockerfile_text: str,
    build_args: Mapping[str, str],
    *,
    target: str | None,
    platform: str | None,
    registries: Registries,
) -> list[BaseImage]:
    """Each distinct base image of the build, resolved to a digest (or why it was not)."""
    names = dict.fromkeys(base_images(dockerfile_text, dict(build_args), target))
    return [_resolve(name, platform, registries) for name in names]


def _file_digest(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1024 * 1024), b""):
                digest.update(chunk)
    except OSError:
        return None
    return f"sha256:{digest.hexdigest()}"


def executor_facts(spec: BuildSpec, result: BuildResult) -> ExecutorImage:
    """The executor that ran ``result``: the image by digest when known, or the binary."""
    if result.mode == "subprocess":
        path = executor_path()
        return ExecutorImage(f"file://{path}", _file_digest(path), kind="binary")
    image = spec.executor.image
    _, at, pinned = image.partition("@")
    if at:
        return ExecutorImage(image, pinned)
    return ExecutorImage(image, repository_digest(image))


def repository_path(file: Path) -> str:
    """``file`` relative to the root of the git work tree holding it (else its name)."""
    resolved = file.resolve()
    for parent in resolved.parents:
        if (parent / ".git").exists():
            return resolved.relative_to(parent).as_posix()
    return resolved.name


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix() or "."
    except ValueError:
        return str(path)


@struct(frozen=True)
class RunFacts:
    """What is the same for every image of a run: source, builder, run, secrets to withhold."""

    source: SourceFacts | None = None
    builder_id: str = LOCAL_BUILDER
    invocation_id: str | None = None
    builder_version: Mapping[str, str] = field(default_factory=dict)
    #: Values this process holds as secrets: a build argument holding one is withheld.
    secret_values: tuple[str, ...] = ()


def image_build_facts(
    pipeline: Pipeline,
    image: Image,
    built: ImageBuild,
    specs: Sequence[BuildSpec],
    run: RunFacts,
    *,
    registries: Registries,
    started: datetime | None,
    finished: datetime | None,
) -> BuildFacts:
    """The facts of ``image``'s build (``specs``, one per platform) as ``built`` pushed it."""
    subjects = [
        (b.pushed.reference.partition("@")[0], b.pushed.digest)
        for b in built.builds
        if b.pushed is not None
    ]
    if built.index is not None:
        subjects.append((built.index.reference.partition("@")[0], built.index.digest))
    bases: list[BaseImage] = []
    executors: dict[str, ExecutorImage] = {}
    for spec, build in zip(specs, built.builds, strict=True):
        text = spec.dockerfile_path.read_text(encoding="utf-8", errors="replace")
        bases.extend(
            resolve_base_images(
                text,
                spec.build_args,
                target=spec.target,
                platform=spec.platform,
                registries=registries,
            )
        )
        executor = executor_facts(spec, build.result)
        executors.setdefault(executor.reference, executor)
    first = specs[0]
    # Secret arguments ({env: VARIABLE}) are named under withheldBuildArgs, never valued.
    args = {**first.build_args, **dict.fromkeys(first.secret_build_args, "")}
    return BuildFacts(
        image=image.name,
        subjects=subjects,
        pipeline_path=repository_path(pipeline.file),
        pipeline_digest=_file_digest(pipeline.file) or "",
        context=_relative(image.build.context, pipeline.base_dir),
        dockerfile=_relative(image.build.dockerfile, image.build.context),
        target=first.target,
        platforms=[s.platform for s in specs if s.platform],
        build_args=args,
        secret_args=secret_build_args(args, first.secret_build_args, run.secret_values),
        source=run.source,
        bases=bases,
        executor=next(iter(executors.values()), None),
        builder_id=run.builder_id,
        builder_version=run.builder_version,
        invocation_id=run.invocation_id,
        started=started,
        finished=finished,
    )
