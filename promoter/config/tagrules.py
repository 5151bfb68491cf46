"""docker/metadata-action tag rule strings, read for validation.

``type=semver,pattern={{version}}``, ``type=ref,event=branch``, ``type=sha``,
``type=raw,value=foo`` or a bare ``foo`` (a raw value). Computing tags from a
git context is the tagging stage's job; this module only reads the rule and
says what is wrong with it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from promoter.config.problems import did_you_mean
from promoter.config.templates import TemplateIssue, template_issues

__all__ = ["RULE_ATTRIBUTES", "RULE_TYPES", "parse_tag_rule", "tag_rule_issues"]

RULE_TYPES = ("schedule", "semver", "pep440", "match", "edge", "ref", "raw", "sha")
RULE_ATTRIBUTES = (
    "type",
    "pattern",
    "value",
    "match",
    "group",
    "event",
    "branch",
    "format",
    "prefix",
    "suffix",
    "enable",
    "priority",
)
_REQUIRED = {"semver": "pattern", "pep440": "pattern", "match": "pattern", "ref": "event"}
_CHOICES = {"event": ("branch", "tag", "pr"), "format": ("short", "long")}


def parse_tag_rule(rule: str) -> dict[str, str]:
    """The attributes of a rule string; a string without '=' is ``type=raw,value=<it>``."""
    if "=" not in rule:
        return {"type": "raw", "value": rule.strip()}
    fields = next(csv.reader([rule], skipinitialspace=True), [])
    attributes: dict[str, str] = {}
    for field in fields:
        key, sep, value = field.partition("=")
        attributes[key.strip()] = value.strip() if sep else ""
    attributes.setdefault("type", "raw")
    return attributes


def tag_rule_issues(rule: str) -> Iterator[TemplateIssue]:
    """Every problem with one tag rule string."""
    if "=" not in rule:
        yield from template_issues(rule)
        return
    try:
        attributes = parse_tag_rule(rule)
    except csv.Error as error:
        yield TemplateIssue(f"cannot read tag rule: {error}")
        return
    for key in attributes:
        if key not in RULE_ATTRIBUTES:
            yield TemplateIssue(
                f"unknown tag rule attribute '{key}'", did_you_mean(key, RULE_ATTRIBUTES)
            )
    kind = attributes["type"]
    if kind not in RULE_TYPES:
        hint = did_you_mean(kind, RULE_TYPES) or f"known: {', '.join(RULE_TYPES)}"
        yield TemplateIssue(f"unknown tag rule type '{kind}'", hint)
        return
    needed = _REQUIRED.get(kind)
    if needed and not attributes.get(needed):
        yield TemplateIssue(f"type={kind} needs {needed}=...")
    for key, choices in _CHOICES.items():
        if key in attributes and attributes[key] not in choices:
            hint = did_you_mean(attributes[key], choices) or f"one of: {', '.join(choices)}"
            yield TemplateIssue(f"{key}={attributes[key]} is not valid", hint)
    if "priority" in attributes and not attributes["priority"].lstrip("-").isdigit():
        yield TemplateIssue("priority must be an integer")
    if kind == "match" and "group" in attributes and not attributes["group"].isdigit():
        yield TemplateIssue("group must be a number")
    for key, value in attributes.items():
        if key != "enable":
            yield from template_issues(value)
    enable = attributes.get("enable")
    if enable is not None and enable not in (
        "true",
        "false",
        "{{is_default_branch}}",
        "{{is_not_default_branch}}",
    ):
        yield TemplateIssue(
            f"enable={enable} is not valid",
            "use true, false, {{is_default_branch}} or {{is_not_default_branch}}",
        )
