"""What every rule module shares: the spec type, the context, small option readers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from promoter.policy.declared import PolicyRule
from promoter.policy.imagefacts import ImageFacts
from promoter.policy.results import Verdict
from promoter.structs import field, struct

__all__ = [
    "RuleContext",
    "RuleSpec",
    "option_bool",
    "option_regex",
    "option_str_list",
]


@struct(frozen=True)
class RuleContext:
    """What a rule may need besides the facts: the time now (max-age, vulnerabilities),
    and the git commit being promoted (provenance; None when there is no git context)."""

    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    commit: str | None = None


@struct(frozen=True)
class RuleSpec:
    """A built-in rule: name, accepted options, option parser, checker, one-line description."""

    name: str
    description: str
    options: tuple[str, ...]
    parse: Callable[[PolicyRule, Path], object]
    check: Callable[[ImageFacts, Any, RuleContext], list[Verdict]]


def option_str_list(rule: PolicyRule, key: str, *, required: bool = False) -> list[str] | None:
    """A list of strings option (a single string is accepted as a list of one)."""
    value = rule.options.get(key)
    if value is None:
        if required:
            raise rule.error(f"rule '{rule.rule}' needs '{key}'", key=key)
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise rule.error("must be a list of strings", key=key)
    return list(value)


def option_bool(rule: PolicyRule, key: str, default: bool) -> bool:
    """A boolean option."""
    value = rule.options.get(key, default)
    if not isinstance(value, bool):
        raise rule.error(f"must be true or false, not {value!r}", key=key)
    return value


def option_regex(rule: PolicyRule, key: str, pattern: str) -> re.Pattern[str]:
    """Compile a user's regular expression, reporting a bad one at its declaration."""
    try:
        return re.compile(pattern)
    except re.error as error:
        raise rule.error(f"invalid regular expression {pattern!r}: {error}", key=key) from None


def joined(values: Sequence[str]) -> str:
    """``a, b, c`` for messages."""
    return ", ".join(values)
