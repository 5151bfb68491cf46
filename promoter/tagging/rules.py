"""Tag rule strings, as docker/metadata-action reads its ``tags`` input.

A rule is one CSV line of ``key=value`` fields (a field may be quoted:
``"pattern=^v(\\d.\\d)$"``); a field without ``=`` is the ``value``; a line
without ``type=`` is ``type=raw``. Each type gets its defaults
(``type=sha`` -> ``prefix=sha-,format=short``, ``type=ref,event=pr`` ->
``prefix=pr-``, ...), ``enable=true`` and its default priority. Rules are
then evaluated in priority order, highest first, ties in input order.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from promoter.errors import InputError
from promoter.structs import field, struct

__all__ = [
    "DEFAULT_PRIORITIES",
    "DEFAULT_RULES",
    "RULE_TYPES",
    "TagRule",
    "parse_rule",
    "parse_rules",
    "split_fields",
]

RULE_TYPES = ("schedule", "semver", "pep440", "match", "edge", "ref", "raw", "sha")
DEFAULT_PRIORITIES = {
    "schedule": "1000",
    "semver": "900",
    "pep440": "900",
    "match": "800",
    "edge": "700",
    "ref": "600",
    "raw": "200",
    "sha": "100",
}
REF_EVENTS = ("branch", "tag", "pr")
SHA_FORMATS = ("short", "long")
#: What an empty ``tags`` input means.
DEFAULT_RULES = (
    "type=schedule",
    "type=ref,event=branch",
    "type=ref,event=tag",
    "type=ref,event=pr",
)


@struct(frozen=True)
class TagRule:
    """One parsed rule: its type and its attributes, all strings as written."""

    type: str
    attrs: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def priority(self) -> float:
        """The numeric priority (higher is evaluated first)."""
        return float(self.attrs["priority"])

    def __str__(self) -> str:
        return ",".join([f"type={self.type}"] + [f"{k}={v}" for k, v in self.attrs.items()])


def split_fields(line: str) -> list[str]:
    """The CSV fields of one input line (double quotes group a field)."""
    try:
        rows = [row for row in csv.reader([line], skipinitialspace=False) if row]
    except csv.Error as error:
        raise InputError(f"cannot read {line!r}: {error}") from error
    return rows[0] if rows else []


def _key_value(field_text: str) -> tuple[str | None, str]:
    # Split at the first '=' that has a non-empty key before it.
    if "=" in field_text and not field_text.startswith("="):
        key, _, value = field_text.partition("=")
        return key.strip().lower(), value.strip()
    return None, field_text.strip()


def _bad(line: str, why: str, hint: str | None = None) -> InputError:
    return InputError(f"invalid tag rule {line!r}: {why}", hint=hint)


def parse_rule(line: str) -> TagRule:
    """Parse one rule string; raise InputError for an unknown type or a missing attribute."""
    attrs: dict[str, str] = {}
    rule_type: str | None = None
    for field_text in split_fields(line):
        key, value = _key_value(field_text)
        if key is None:
            attrs["value"] = value
        elif key == "type":
            if value not in RULE_TYPES:
                raise _bad(line, f"unknown type {value!r}", f"one of {', '.join(RULE_TYPES)}")
            rule_type = value
        else:
            attrs[key] = value
    rule_type = rule_type or "raw"
    _apply_defaults(line, rule_type, attrs)
    attrs.setdefault("enable", "true")
    attrs.setdefault("priority", DEFAULT_PRIORITIES[rule_type])
    try:
        float(attrs["priority"])
    except ValueError as error:
        raise _bad(line, f"priority {attrs['priority']!r} is not a number") from error
    # Keep the documented attribute order: priority, enable, then the rest.
    ordered = {"priority": attrs.pop("priority"), "enable": attrs.pop("enable"), **attrs}
    return TagRule(rule_type, ordered, line)


def _apply_defaults(line: str, rule_type: str, attrs: dict[str, str]) -> None:
    if rule_type == "schedule":
        attrs.setdefault("pattern", "nightly")
    elif rule_type in ("semver", "pep440"):
        if "pattern" not in attrs:
            raise _bad(line, "missing pattern", "e.g. type=semver,pattern={{version}}")
        attrs.setdefault("value", "")
        attrs.setdefault("match", "")
    elif rule_type == "match":
        if "pattern" not in attrs:
            raise _bad(line, "missing pattern", "e.g. type=match,pattern=v(.*),group=1")
        attrs.setdefault("group", "0")
        if not attrs["group"].strip().isdigit():
            raise _bad(line, f"match group {attrs['group']!r} is not a number")
        attrs.setdefault("value", "")
    elif rule_type == "edge":
        attrs.setdefault("branch", "")
    elif rule_type == "ref":
        if "event" not in attrs:
            raise _bad(line, "missing event", "event=branch, event=tag or event=pr")
        if attrs["event"] not in REF_EVENTS:
            raise _bad(line, f"unknown event {attrs['event']!r}", "branch, tag or pr")
        if attrs["event"] == "pr":
            attrs.setdefault("prefix", "pr-")
    elif rule_type == "raw":
        if "value" not in attrs:
            raise _bad(line, "missing value", "e.g. type=raw,value=stable")
    elif rule_type == "sha":
        attrs.setdefault("prefix", "sha-")
        attrs.setdefault("format", "short")
        if attrs["format"] not in SHA_FORMATS:
            raise _bad(line, f"unknown format {attrs['format']!r}", "short or long")


def parse_rules(lines: Iterable[str]) -> list[TagRule]:
    """Parse rule lines (or the default rules when none) sorted by priority, stable."""
    given: Sequence[str] = [
        line for line in lines if line.strip() and not line.lstrip().startswith("#")
    ]
    rules = [parse_rule(line) for line in (given or DEFAULT_RULES)]
    return sorted(rules, key=lambda rule: -rule.priority)
