"""The tag engine: docker/metadata-action's semantics, as a pure function.

:func:`compute_metadata` takes the rule, flavor, image, label and annotation
lines, a :class:`GitContext`, a :class:`RepositoryInfo` and the clock, and
returns the version, the tags, the labels and the annotations. It reads no
environment and calls no network, so a test can freeze every input.

Rules run in priority order. Each may yield one value (prefix and suffix
added, then sanitised: every run of characters outside ``[a-zA-Z0-9._-]``
becomes ``-``). The first value is the *version* (``main``), later distinct
values are ``partial``; the first rule yielding a value decides ``latest``
when ``flavor: latest=auto`` (a git tag, a ``match`` or a final
semver/PEP 440 version -> yes; anything else -> no).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from promoter.errors import InputError
from promoter.structs import field, struct
from promoter.tagging.context import GitContext, RepositoryInfo
from promoter.tagging.expressions import Expressions
from promoter.tagging.flavor import Flavor, parse_flavor
from promoter.tagging.images import ImageName, parse_images
from promoter.tagging.labels import merge_labels, oci_labels, with_levels
from promoter.tagging.rules import TagRule, parse_rules
from promoter.tagging.version_rules import evaluate_rule

__all__ = ["Metadata", "TagInputs", "Version", "compute_metadata", "sanitize_tag"]


def sanitize_tag(value: str) -> str:
    """Replace every run of characters a Docker tag may not hold with ``-``."""
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", value)


@struct(frozen=True)
class TagInputs:
    """The lines of a ``tags``/``flavor``/``images``/``labels``/``annotations`` input."""

    images: Sequence[str] = ()
    tags: Sequence[str] = ()
    flavor: Sequence[str] = ()
    labels: Sequence[str] = ()
    annotations: Sequence[str] = ()


@struct
class Version:
    """``main`` (the image version), the other tags, and whether ``latest`` is added."""

    main: str | None = None
    partial: list[str] = field(default_factory=list)
    latest: bool | None = None

    def add(self, value: str, latest: bool) -> None:
        """Record a rule's value; the first one becomes ``main`` and decides ``latest``."""
        if not value:
            return
        value = sanitize_tag(value)
        if self.main is None:
            self.main = value
        elif value != self.main and value not in self.partial:
            self.partial.append(value)
        if self.latest is None:
            self.latest = latest

    def to_dict(self) -> dict[str, object]:
        """metadata-action's ``version`` object (``main`` absent when undefined)."""
        out: dict[str, object] = {"partial": list(self.partial), "latest": bool(self.latest)}
        if self.main is not None:
            out = {"main": self.main, **out}
        return out


@struct(frozen=True)
class Metadata:
    """What the engine computed for one set of inputs."""

    version: Version
    images: tuple[ImageName, ...]
    flavor: Flavor
    rules: tuple[TagRule, ...]
    labels: tuple[str, ...]
    annotations: tuple[str, ...]
    latest_name: str = "latest"

    def _names(self) -> list[str]:
        if not self.version.main:
            return []
        names = [self.version.main, *self.version.partial]
        if self.version.latest:
            names.append(self.latest_name)
        return names

    @property
    def tag_names(self) -> list[str]:
        """The tags without image names: version, partials, then ``latest``."""
        return self._names()

    @property
    def tags(self) -> list[str]:
        """``image:tag`` for every enabled image (or bare tags when there is no image)."""
        names = self._names()
        if not names:
            return []
        if not self.images:
            return names
        return [
            f"{image.name.lower()}:{name}"
            for image in self.images
            if image.enable
            for name in names
        ]

    @property
    def label_map(self) -> dict[str, str]:
        """The labels as a mapping, in sorted key order."""
        return dict(line.split("=", 1) for line in self.labels)

    def to_json(self, levels: Iterable[str] = ("manifest",)) -> dict[str, object]:
        """metadata-action's ``json`` output: tags, tag-names, labels, annotations with levels."""
        return {
            "tags": self.tags,
            "tag-names": self.tag_names,
            "labels": self.label_map,
            "annotations": with_levels(self.annotations, levels),
        }


def compute_metadata(
    inputs: TagInputs,
    context: GitContext,
    repository: RepositoryInfo,
    *,
    now: datetime,
    short_sha_length: int = 7,
) -> Metadata:
    """Compute version, tags, labels and annotations (see the module docstring)."""
    if now.tzinfo is None:
        raise InputError("the clock must be timezone-aware")
    images = parse_images(inputs.images)
    rules = parse_rules(inputs.tags)
    flavor = parse_flavor(inputs.flavor)
    expressions = Expressions(context, repository, now, short_sha_length)
    version = Version()
    for rule in rules:
        enabled = expressions.render(rule.attrs["enable"])
        if enabled not in ("true", "false"):
            raise InputError(
                f"invalid tag rule {rule.source!r}: enable={enabled!r} is neither true nor false"
            )
        if enabled == "true":
            evaluate_rule(rule, version, flavor, expressions)
    if version.latest is None:
        version.latest = False
    generated = oci_labels(repository, version.main or "", context.sha, now)
    labels = merge_labels(generated, (expressions.render(line) for line in _lines(inputs.labels)))
    annotations = merge_labels(
        generated, (expressions.render(line) for line in _lines(inputs.annotations))
    )
    # The flavor's prefix/suffix are rendered for `latest` too, unlike upstream, which
    # pastes them raw ('{{branch}}-' would give '-branch--latest'); plain text is unaffected.
    latest_name = sanitize_tag(
        (expressions.render(flavor.prefix) if flavor.prefix_latest else "")
        + "latest"
        + (expressions.render(flavor.suffix) if flavor.suffix_latest else "")
    )
    return Metadata(
        version,
        tuple(images),
        flavor,
        tuple(rules),
        tuple(labels),
        tuple(annotations),
        latest_name,
    )


def _lines(lines: Iterable[str]) -> list[str]:
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
