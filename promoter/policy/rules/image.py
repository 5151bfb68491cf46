"""Rules on each platform's manifest and config: non-root, required-labels, max-size,
platforms, media-types."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from promoter.oci import mediatypes as mt
from promoter.policy.declared import PolicyRule
from promoter.policy.imagefacts import ImageFacts
from promoter.policy.results import Verdict
from promoter.policy.rules.base import (
    RuleContext,
    RuleSpec,
    joined,
    option_regex,
    option_str_list,
)
from promoter.structs import struct
from promoter.units import format_size, parse_size

__all__ = ["DEFAULT_LAYER_TYPES", "DEFAULT_MANIFEST_TYPES", "IMAGE_RULES", "normalize_platform"]

_ROOT_NAMES = frozenset({"", "0", "root"})


def _none(_rule: PolicyRule, _base: Path) -> None:
    return None


def _check_non_root(facts: ImageFacts, _settings: None, _ctx: RuleContext) -> list[Verdict]:
    outcomes = []
    for p in facts.platforms:
        user = p.user
        name = user.split(":", 1)[0].strip()
        if name in _ROOT_NAMES:
            why = "no USER is set, so it runs as root" if not user else f"runs as {user!r} (root)"
            outcomes.append(Verdict(False, why, p.platform))
        else:
            outcomes.append(Verdict(True, f"runs as user {user!r}", p.platform))
    return outcomes


@struct(frozen=True)
class _Labels:
    required: dict[str, re.Pattern[str] | None]


def _parse_labels(rule: PolicyRule, _base: Path) -> _Labels:
    value = rule.options.get("labels")
    if isinstance(value, dict) and value:
        required: dict[str, re.Pattern[str] | None] = {}
        for name, pattern in value.items():
            if not isinstance(name, str) or not (pattern is None or isinstance(pattern, str)):
                raise rule.error("must map label names to regular expressions", key="labels")
            required[name] = option_regex(rule, f"labels.{name}", pattern) if pattern else None
        return _Labels(required)
    names = option_str_list(rule, "labels", required=True)
    if not names:
        raise rule.error("name at least one label", key="labels")
    return _Labels(dict.fromkeys(names))


def _check_labels(facts: ImageFacts, settings: _Labels, _ctx: RuleContext) -> list[Verdict]:
    outcomes = []
    for p in facts.platforms:
        labels = p.labels
        problems = []
        for name, pattern in settings.required.items():
            if name not in labels or labels[name] in (None, ""):
                problems.append(f"label {name} is missing")
            elif pattern is not None and not pattern.search(str(labels[name])):
                shown = str(labels[name])[:80]
                problems.append(f"label {name}={shown!r} does not match {pattern.pattern!r}")
        if problems:
            outcomes.append(Verdict(False, "; ".join(problems), p.platform))
        else:
            names = joined(list(settings.required))
            outcomes.append(Verdict(True, f"has the labels {names}", p.platform))
    return outcomes


def _parse_size(rule: PolicyRule, _base: Path) -> int:
    if "max" not in rule.options:
        raise rule.error("rule 'max-size' needs 'max' (e.g. 500MiB)", key="max")
    try:
        return parse_size(rule.options["max"])
    except ValueError as error:
        raise rule.error(str(error), key="max") from None


def _check_size(facts: ImageFacts, limit: int, _ctx: RuleContext) -> list[Verdict]:
    outcomes = []
    for p in facts.platforms:
        size = p.total_size
        shown = f"{format_size(size)} compressed"
        if size > limit:
            message = f"{shown} ({size} bytes), above the limit of {format_size(limit)}"
            outcomes.append(Verdict(False, message, p.platform))
        else:
            message = f"{shown}, within the limit of {format_size(limit)}"
            outcomes.append(Verdict(True, message, p.platform))
    return outcomes


def normalize_platform(text: str) -> str:
    """``linux/arm64/v8`` and ``linux/arm64`` are the same platform; lowercase otherwise."""
    parts = text.strip().lower().split("/")
    if len(parts) == 3 and parts[1] == "arm64" and parts[2] == "v8":
        parts = parts[:2]
    return "/".join(parts)


@struct(frozen=True)
class _Platforms:
    wanted: tuple[str, ...]
    exact: bool


def _parse_platforms(rule: PolicyRule, _base: Path) -> _Platforms:
    required = option_str_list(rule, "required")
    exact = option_str_list(rule, "exact")
    if (required is None) == (exact is None):
        raise rule.error(
            "rule 'platforms' needs exactly one of 'required' or 'exact'",
            hint="e.g. required: [linux/amd64, linux/arm64]",
        )
    wanted = required if required is not None else exact
    assert wanted is not None
    for item in wanted:
        if len(item.split("/")) not in (2, 3):
            raise rule.error(f"not a platform: {item!r} (write os/arch[/variant])")
    return _Platforms(tuple(normalize_platform(w) for w in wanted), exact is not None)


def _check_platforms(facts: ImageFacts, settings: _Platforms, _ctx: RuleContext) -> list[Verdict]:
    present = [normalize_platform(p.platform or "") for p in facts.platforms]
    missing = [w for w in settings.wanted if w not in present]
    extra = [p for p in present if p not in settings.wanted] if settings.exact else []
    problems = []
    if missing:
        problems.append(f"missing {joined(missing)}")
    if extra:
        problems.append(f"not allowed {joined(extra)}")
    has = joined(present) or "none"
    if problems:
        return [Verdict(False, f"{'; '.join(problems)} (image has {has})")]
    return [Verdict(True, f"image has {has}")]


DEFAULT_MANIFEST_TYPES = (
    mt.OCI_INDEX,
    mt.OCI_MANIFEST,
    mt.DOCKER_MANIFEST_LIST,
    mt.DOCKER_MANIFEST,
)
DEFAULT_LAYER_TYPES = (mt.OCI_LAYER, mt.OCI_LAYER_GZIP, mt.OCI_LAYER_ZSTD, mt.DOCKER_LAYER_GZIP)


@struct(frozen=True)
class _MediaTypes:
    manifests: tuple[str, ...]
    layers: tuple[str, ...]


def _parse_media_types(rule: PolicyRule, _base: Path) -> _MediaTypes:
    manifests = option_str_list(rule, "allow_manifest") or list(DEFAULT_MANIFEST_TYPES)
    layers = option_str_list(rule, "allow_layer") or list(DEFAULT_LAYER_TYPES)
    return _MediaTypes(tuple(manifests), tuple(layers))


def _allowed(media_type: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(media_type, pattern) for pattern in patterns)


def _check_media_types(
    facts: ImageFacts, settings: _MediaTypes, _ctx: RuleContext
) -> list[Verdict]:
    outcomes = []
    top = facts.media_type
    if not _allowed(top, settings.manifests):
        why = " (Docker schema 1 is deprecated and unverifiable)" if mt.is_schema1(top) else ""
        outcomes.append(Verdict(False, f"the image is a {top!r}, not an allowed type{why}"))
    for p in facts.platforms:
        problems = []
        own = p.media_type
        if own != top and not _allowed(own, settings.manifests):
            problems.append(f"manifest type {own!r} is not allowed")
        layers = p.layers
        for number, layer in enumerate(layers, start=1):
            kind = layer.media_type
            if not _allowed(kind, settings.layers):
                foreign = (
                    " (a foreign layer, fetched from outside the registry)"
                    if ("foreign" in kind or "nondistributable" in kind or layer.has_urls)
                    else ""
                )
                problems.append(f"layer {number} has type {kind!r}{foreign}")
        if problems:
            outcomes.append(Verdict(False, "; ".join(problems), p.platform))
        else:
            outcomes.append(
                Verdict(True, f"manifest and {len(layers)} layer(s) of allowed types", p.platform)
            )
    return outcomes


IMAGE_RULES = (
    RuleSpec("non-root", "The image must not run as root.", (), _none, _check_non_root),
    RuleSpec(
        "required-labels",
        "Labels that must be present, optionally matching a regular expression.",
        ("labels",),
        _parse_labels,
        _check_labels,
    ),
    RuleSpec(
        "max-size",
        "A limit on each platform's compressed size.",
        ("max",),
        _parse_size,
        _check_size,
    ),
    RuleSpec(
        "platforms",
        "Platforms the image must provide (required), or exactly (exact).",
        ("required", "exact"),
        _parse_platforms,
        _check_platforms,
    ),
    RuleSpec(
        "media-types",
        "Allowed manifest and layer media types (no schema 1, no foreign layers by default).",
        ("allow_manifest", "allow_layer"),
        _parse_media_types,
        _check_media_types,
    ),
)
