"""Rules on where an image comes from and when: base-image, max-age."""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime, timedelta
from pathlib import Path

from promoter.errors import InputError
from promoter.oci.reference import parse_registry_reference
from promoter.policy.attachedfacts import parse_timestamp
from promoter.policy.declared import PolicyRule
from promoter.policy.imagefacts import ImageFacts, PlatformFacts
from promoter.policy.results import Verdict
from promoter.policy.rules.base import (
    RuleContext,
    RuleSpec,
    joined,
    option_bool,
    option_str_list,
)
from promoter.structs import struct
from promoter.units import parse_duration

__all__ = ["BASE_DIGEST", "BASE_NAME", "CREATED", "PROVENANCE_RULES", "created_time"]

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
CREATED = "org.opencontainers.image.created"
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$")


def _annotation(facts: ImageFacts, platform: PlatformFacts, key: str) -> str | None:
    """An annotation of the platform's manifest, else a label of its config, else the index's."""
    for source in (platform.annotations, platform.labels, facts.annotations):
        value = source.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _spellings(name: str) -> set[str]:
    """A base name as written, fully qualified and in Docker's familiar short form, so
    ``alpine:*`` and ``docker.io/library/alpine:*`` both match ``alpine:3.20``."""
    names = {name}
    try:
        ref = parse_registry_reference(name)
    except InputError:
        return names
    full = str(ref)
    names.add(full)
    if ref.registry == "docker.io":
        short = full.removeprefix("docker.io/")
        names.add(short)
        names.add(short.removeprefix("library/"))
    return names


@struct(frozen=True)
class _Base:
    allow: tuple[str, ...]
    require_digest: bool


def _parse_base(rule: PolicyRule, _base: Path) -> _Base:
    allow = option_str_list(rule, "allow")
    require_digest = option_bool(rule, "require_digest", False)
    if not allow and not require_digest:
        raise rule.error("rule 'base-image' needs 'allow' globs or 'require_digest: true'")
    return _Base(tuple(allow or ()), require_digest)


def _check_base(facts: ImageFacts, settings: _Base, _ctx: RuleContext) -> list[Verdict]:
    outcomes = []
    for p in facts.platforms:
        name = _annotation(facts, p, BASE_NAME)
        digest = _annotation(facts, p, BASE_DIGEST)
        problems = []
        if settings.allow:
            if name is None:
                problems.append(f"no {BASE_NAME} annotation or label says what the base is")
            elif not any(
                fnmatch.fnmatchcase(n, g) for n in _spellings(name) for g in settings.allow
            ):
                problems.append(
                    f"base {name!r} is not in the allow-list ({joined(settings.allow)})"
                )
        if settings.require_digest:
            if digest is None:
                problems.append(f"no {BASE_DIGEST} pins the base image")
            elif not _DIGEST.match(digest):
                problems.append(f"{BASE_DIGEST} {digest[:80]!r} is not a digest")
        if problems:
            outcomes.append(Verdict(False, "; ".join(problems), p.platform))
        else:
            shown = f"base {name!r}" if name else "base"
            pinned = f" pinned at {digest}" if digest else ""
            outcomes.append(Verdict(True, f"{shown}{pinned}", p.platform))
    return outcomes


def created_time(facts: ImageFacts, platform: PlatformFacts) -> tuple[str, str] | None:
    """``(timestamp text, where it came from)``: the OCI created annotation, else config.created."""
    stamp = _annotation(facts, platform, CREATED)
    if stamp:
        return stamp, CREATED
    created = platform.created
    if created:
        return created, "config.created"
    return None


def _reproducible(stamp: datetime) -> bool:
    """A zeroed timestamp (the Unix epoch, or Go's zero time) marks a reproducible build."""
    return stamp.year <= 1970


def _parse_age(rule: PolicyRule, _base: Path) -> timedelta:
    if "max" not in rule.options:
        raise rule.error("rule 'max-age' needs 'max' (e.g. 30d)", key="max")
    try:
        return timedelta(seconds=parse_duration(rule.options["max"]))
    except ValueError as error:
        raise rule.error(str(error), key="max") from None


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.1f} days" if days < 10 else f"{int(days)} days"


def _check_age(facts: ImageFacts, limit: timedelta, ctx: RuleContext) -> list[Verdict]:
    outcomes = []
    for p in facts.platforms:
        platform = p.platform
        found = created_time(facts, p)
        if found is None:
            outcomes.append(
                Verdict(
                    False, "no creation time: no created annotation or config.created", platform
                )
            )
            continue
        text, source = found
        stamp = parse_timestamp(text)
        if stamp is None:
            outcomes.append(Verdict(False, f"{source} {text[:40]!r} is not a timestamp", platform))
        elif _reproducible(stamp):
            message = f"{source} is zeroed ({text}): a reproducible build, age not judged"
            outcomes.append(Verdict(True, message, platform))
        elif ctx.now - stamp > limit:
            age = _days(ctx.now - stamp)
            outcomes.append(
                Verdict(
                    False, f"built {age} ago ({source} {text}), older than {_days(limit)}", platform
                )
            )
        else:
            age = _days(max(ctx.now - stamp, timedelta(0)))
            outcomes.append(
                Verdict(True, f"built {age} ago ({source}), within {_days(limit)}", platform)
            )
    return outcomes


PROVENANCE_RULES = (
    RuleSpec(
        "base-image",
        "The base image must be allow-listed and pinned by digest (OCI base annotations).",
        ("allow", "require_digest"),
        _parse_base,
        _check_base,
    ),
    RuleSpec(
        "max-age",
        "The image must have been built within a time limit (zeroed timestamps pass).",
        ("max",),
        _parse_age,
        _check_age,
    ),
)
