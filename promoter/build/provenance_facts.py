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
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.build.dockerfile import base_images
from promoter.errors import PromoterError
from promoter.oci.manifest import Index
from promoter.oci.reference import parse_registry_reference
from promoter.redaction import redact
from promoter.signing.provenance import BaseImage, ExecutorImage

if TYPE_CHECKING:
    from promoter.build.result import BuildResult
    from promoter.build.spec import BuildSpec
    from promoter.registry.pool import Registries

__all__ = ["executor_facts", "resolve_base_images"]


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
        from promoter.build.subprocess_executor import executor_path

        path = executor_path()
        return ExecutorImage(f"file://{path}", _file_digest(path), kind="binary")
    image = spec.executor.image
    _, at, pinned = image.partition("@")
    if at:
        return ExecutorImage(image, pinned)
    from promoter.build.docker_engine import repository_digest

    return ExecutorImage(image, repository_digest(image))
