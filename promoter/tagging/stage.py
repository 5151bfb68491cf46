"""The tag stage: each image of a pipeline gets its staging tags and its OCI labels.

:func:`image_metadata` applies the engine to one :class:`promoter.config.Image`
(its staging repository is the image name of the rules);
:func:`pipeline_tags` detects the git context once, beside the pipeline file,
and returns a :class:`TagsReport` (what ``promoter tags`` prints).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from promoter.environment import snapshot
from promoter.errors import InputError
from promoter.structs import struct
from promoter.tagging.context import GitContext, RepositoryInfo
from promoter.tagging.detect import detect_context
from promoter.tagging.engine import Metadata, TagInputs, compute_metadata
from promoter.tagging.labels import with_levels

if TYPE_CHECKING:
    from promoter.config import Image, Pipeline

__all__ = ["ImageTags", "TagsReport", "image_metadata", "pipeline_tags", "select_images"]


@struct(frozen=True)
class ImageTags:
    """One image's version, staging tags, labels and annotations."""

    image: str
    staging: str
    version: str
    latest: bool
    tags: tuple[str, ...]
    tag_names: tuple[str, ...]
    labels: Mapping[str, str]
    annotations: tuple[str, ...]  # ``key=value``, prefixed by the levels asked for

    def to_dict(self) -> dict[str, object]:
        """The image's entry in ``promoter tags --output json``."""
        return {
            "image": self.image,
            "staging": self.staging,
            "version": self.version,
            "latest": self.latest,
            "tags": list(self.tags),
            "tagNames": list(self.tag_names),
            "labels": dict(self.labels),
            "annotations": list(self.annotations),
        }


@struct(frozen=True)
class TagsReport:
    """The tags and labels of some images, and the git context they came from."""

    file: str
    context: GitContext
    repository: RepositoryInfo
    images: tuple[ImageTags, ...]

    @property
    def warnings(self) -> tuple[str, ...]:
        """What a person should know about the context (dirty tree, shallow clone, ...)."""
        return self.context.warnings

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``promoter tags --output json``."""
        return {
            "file": self.file,
            "context": self.context.to_dict(),
            "repository": self.repository.to_dict(),
            "images": [image.to_dict() for image in self.images],
            "warnings": list(self.warnings),
        }


def _short_sha_length(env: Mapping[str, str]) -> int:
    raw = env.get("DOCKER_METADATA_SHORT_SHA_LENGTH", "").strip()
    if not raw:
        return 7
    if not raw.isdigit() or not 1 <= int(raw) <= 40:
        raise InputError(f"DOCKER_METADATA_SHORT_SHA_LENGTH={raw!r} is not a length from 1 to 40")
    return int(raw)


def _levels(env: Mapping[str, str]) -> list[str]:
    raw = env.get("DOCKER_METADATA_ANNOTATIONS_LEVELS", "") or "manifest"
    return [level.strip() for level in raw.split(",") if level.strip()]


def image_metadata(
    image: Image,
    context: GitContext,
    repository: RepositoryInfo,
    *,
    now: datetime,
    short_sha_length: int = 7,
) -> Metadata:
    """The tags (on the staging repository) and labels of one pipeline image."""
    inputs = TagInputs(
        images=[image.staging.name],
        tags=image.tags,
        flavor=image.flavor,
        labels=[f"{key}={value}" for key, value in image.labels.items()],
    )
    return compute_metadata(inputs, context, repository, now=now, short_sha_length=short_sha_length)


def select_images(pipeline: Pipeline, names: Iterable[str]) -> list[Image]:
    """The images called ``names`` (all when empty); an unknown name is bad input."""
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in pipeline.images]
    if unknown:
        known = ", ".join(sorted(pipeline.images)) or "none"
        raise InputError(
            f"no image named {unknown[0]!r} in {pipeline.file}", hint=f"images: {known}"
        )
    return [pipeline.images[name] for name in (wanted or list(pipeline.images))]


def pipeline_tags(
    pipeline: Pipeline,
    names: Iterable[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    context: tuple[GitContext, RepositoryInfo] | None = None,
) -> TagsReport:
    """Tags and labels of the selected images, with the git context they came from."""
    env = snapshot() if env is None else env
    images = select_images(pipeline, names)
    git_context, repository = context or detect_context(pipeline.base_dir, env)
    moment = now or datetime.now(timezone.utc)
    length = _short_sha_length(env)
    levels = _levels(env)
    found: list[ImageTags] = []
    for image in images:
        meta = image_metadata(image, git_context, repository, now=moment, short_sha_length=length)
        found.append(
            ImageTags(
                image=image.name,
                staging=image.staging.name,
                version=meta.version.main or "",
                latest=bool(meta.version.latest),
                tags=tuple(meta.tags),
                tag_names=tuple(meta.tag_names),
                labels=meta.label_map,
                annotations=tuple(with_levels(meta.annotations, levels)),
            )
        )
    return TagsReport(str(pipeline.file), git_context, repository, tuple(found))
