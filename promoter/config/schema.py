"""The pipeline.yml JSON Schema (draft 2020-12) and its errors as located problems.

The schema ships as package data, ``pipeline.schema.json``; it is the law for
the file's shape. It is checked by ``promoter.config.validator`` (the keyword
subset the schema uses, without jsonschema's import cost), and each violation
becomes a short located message that says what to do, with a "did you mean"
for unknown keys and values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from promoter.config.problems import KeyPath, Problem, did_you_mean, format_path
from promoter.config.validator import SchemaViolation, iter_violations

if TYPE_CHECKING:
    from promoter.config.source import Document

__all__ = [
    "PLAN_SCHEMA_FILE",
    "SCHEMA_FILE",
    "plan_schema_dict",
    "plan_schema_text",
    "schema_dict",
    "schema_problems",
    "schema_text",
]

SCHEMA_FILE = "pipeline.schema.json"
#: The JSON Schema of ``promoter.plan/v1`` (what ``promoter schema --plan`` prints).
PLAN_SCHEMA_FILE = "plan.schema.json"

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@lru_cache(maxsize=1)
def schema_text() -> str:
    """The schema exactly as shipped (what ``promoter schema`` prints)."""
    return resources.files("promoter.config").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def schema_dict() -> dict[str, object]:
    """The schema as a dict."""
    loaded: dict[str, object] = json.loads(schema_text())
    return loaded


@lru_cache(maxsize=1)
def plan_schema_text() -> str:
    """The plan file's schema exactly as shipped (what ``promoter schema --plan`` prints)."""
    files = resources.files("promoter.config")
    return files.joinpath(PLAN_SCHEMA_FILE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def plan_schema_dict() -> dict[str, object]:
    """The plan file's schema as a dict."""
    loaded: dict[str, object] = json.loads(plan_schema_text())
    return loaded


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _show(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "..."


def _extra_keys(violation: SchemaViolation) -> list[str]:
    instance = violation.instance
    if not isinstance(instance, Mapping):
        return []
    known = violation.schema.get("properties", {})
    return [key for key in instance if key not in known]


def _allowed_keys(schema: Mapping[str, Any]) -> list[str]:
    return [key for key in schema.get("properties", {}) if key not in ("rule",)]


def _unknown_key_problems(error: SchemaViolation, doc: Document) -> Iterator[Problem]:
    """One problem per key the schema does not allow here, with "did you mean"."""
    allowed = _allowed_keys(error.schema)
    for key in _extra_keys(error):
        child = (*error.path, key)
        hint = did_you_mean(key, allowed) or (
            f"allowed here: {', '.join(allowed)}" if allowed else None
        )
        yield Problem(doc.key_mark(child), format_path(child), f"unknown key '{key}'", hint)


def _missing_key_problems(error: SchemaViolation, doc: Document) -> Iterator[Problem]:
    """One problem per missing required key, unless a misspelling already reports it."""
    path: KeyPath = error.path
    schema = error.schema
    present = error.instance if isinstance(error.instance, Mapping) else {}
    unknown = [key for key in present if key not in schema.get("properties", {})]
    closed = schema.get("additionalProperties") is False
    for key in error.expected:
        if key in present:
            continue
        misspelt = [u for u in unknown if did_you_mean(u, [key])]
        if misspelt and closed:
            continue  # reported once, as an unknown key with "did you mean"
        hint = f"did you mean '{key}' instead of '{misspelt[0]}'?" if misspelt else None
        yield Problem(doc.key_mark(path), format_path(path), f"missing required key '{key}'", hint)


def _choice_message(error: SchemaViolation) -> tuple[str, str | None]:
    """The message and hint for a value outside an ``enum`` or unequal to a ``const``."""
    schema = error.schema
    value = error.instance
    choices = error.expected if error.keyword == "enum" else [error.expected]
    listed = ", ".join(str(choice) for choice in choices)
    lead = schema.get("x-message") or "invalid value"
    hint = (
        did_you_mean(value, [str(choice) for choice in choices])
        or schema.get("x-hint")
        or f"expected one of: {listed}"
    )
    return f"{lead} {_show(value)}", hint


def _value_message(error: SchemaViolation) -> tuple[str, str | None]:
    """The message and hint for a bad value (the problem lies at the value, not a key)."""
    validator = error.keyword
    value = error.instance
    expected: Any = error.expected
    custom = error.schema.get("x-message")
    if validator in ("enum", "const"):
        return _choice_message(error)
    if validator == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(name, name) for name in names)
        return f"expected {wanted}, got {_kind(value)}", None
    if validator == "pattern" and error.schema.get("x-secret"):
        # The value may be a secret pasted where a variable name belongs: never echo it.
        return str(custom), None
    if validator == "pattern":
        return f"{_show(value)}: {custom or 'does not match ' + str(expected)}", None
    if validator in ("minimum", "exclusiveMinimum", "maximum"):
        bound = {"minimum": "at least", "exclusiveMinimum": "above", "maximum": "at most"}
        return f"{_show(value)}: {custom or f'must be {bound[validator]} {expected}'}", None
    fixed = {
        "minItems": "must not be empty",
        "minProperties": "must not be empty",
        "minLength": "must not be an empty string",
        "uniqueItems": "has duplicate entries",
        "false": "not allowed here",
    }
    return fixed.get(validator, f"fails the schema's '{validator}' rule"), None


def _problems_of(error: SchemaViolation, doc: Document) -> Iterator[Problem]:
    """The located problems one schema violation makes."""
    if error.keyword == "additionalProperties":
        yield from _unknown_key_problems(error, doc)
        return
    if error.keyword == "required":
        yield from _missing_key_problems(error, doc)
        return
    if error.in_property_names:
        # A bad key: point at the key itself; jsonschema's path ends at the parent.
        child = (*error.path, str(error.instance))
        message = error.schema.get("x-message") or "invalid name"
        yield Problem(doc.key_mark(child), format_path(child), f"{message}")
        return
    message, hint = _value_message(error)
    yield Problem(doc.mark(error.path), format_path(error.path), message, hint)


def schema_problems(doc: Document, schema: Mapping[str, object] | None = None) -> list[Problem]:
    """Every way ``doc`` breaks ``schema`` (the pipeline's by default), as located problems."""
    problems: list[Problem] = []
    for violation in iter_violations(doc.data, schema_dict() if schema is None else schema):
        problems.extend(_problems_of(violation, doc))
    return problems
