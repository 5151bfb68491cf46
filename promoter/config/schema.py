"""The pipeline.yml JSON Schema (draft 2020-12) and its errors as located problems.

The schema ships as package data, ``pipeline.schema.json``; it is the law for
the file's shape. ``jsonschema`` is imported only when a file is validated.
jsonschema's own messages are rewritten into short ones that say what to do,
with a "did you mean" for unknown keys and values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from promoter.config.problems import KeyPath, Problem, did_you_mean, format_path

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

    from promoter.config.source import Document

__all__ = ["SCHEMA_FILE", "schema_dict", "schema_problems", "schema_text"]

SCHEMA_FILE = "pipeline.schema.json"

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
def schema_dict() -> dict[str, Any]:
    """The schema as a dict."""
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


@lru_cache(maxsize=1)
def _validator() -> Validator:
    # Only the validator class: the package's format checkers are not needed.
    from jsonschema.validators import Draft202012Validator

    return Draft202012Validator(schema_dict())


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


def _extra_keys(error: ValidationError) -> list[str]:
    instance = error.instance
    schema = error.schema
    if not isinstance(instance, Mapping) or not isinstance(schema, Mapping):
        return []
    known = schema.get("properties", {})
    patterns = [re.compile(pattern) for pattern in schema.get("patternProperties", {})]
    return [
        key
        for key in instance
        if key not in known and not any(pattern.search(key) for pattern in patterns)
    ]


def _allowed_keys(schema: Mapping[str, Any]) -> list[str]:
    return [key for key in schema.get("properties", {}) if key not in ("rule",)]


def _problems_of(error: ValidationError, doc: Document) -> Iterator[Problem]:
    path: KeyPath = tuple(error.absolute_path)
    here = format_path(path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    custom = schema.get("x-message")
    validator = error.validator
    value = error.instance
    rule_value: Any = error.validator_value
    if validator == "additionalProperties":
        allowed = _allowed_keys(schema)
        for key in _extra_keys(error):
            child = (*path, key)
            hint = did_you_mean(key, allowed) or (
                f"allowed here: {', '.join(allowed)}" if allowed else None
            )
            yield Problem(doc.key_mark(child), format_path(child), f"unknown key '{key}'", hint)
        return
    if validator == "required":
        present = value if isinstance(value, Mapping) else {}
        unknown = [key for key in present if key not in schema.get("properties", {})]
        for key in rule_value:
            # A misspelt key is reported once, as unknown with "did you mean".
            if key not in present and not any(did_you_mean(u, [key]) for u in unknown):
                yield Problem(doc.key_mark(path), here, f"missing required key '{key}'")
        return
    mark = doc.mark(path)
    if "propertyNames" in error.absolute_schema_path:
        # A bad key: point at the key itself; jsonschema's path ends at the parent.
        child = (*path, str(value))
        yield Problem(doc.key_mark(child), format_path(child), f"{custom or 'invalid name'}")
        return
    if validator in ("enum", "const"):
        choices = rule_value if validator == "enum" else [rule_value]
        listed = ", ".join(str(choice) for choice in choices)
        lead = custom or "invalid value"
        hint = (
            did_you_mean(value, [str(choice) for choice in choices])
            or schema.get("x-hint")
            or f"expected one of: {listed}"
        )
        yield Problem(mark, here, f"{lead} {_show(value)}", hint)
        return
    if validator == "type":
        wanted = rule_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        expected = " or ".join(_TYPE_NAMES.get(name, name) for name in names)
        yield Problem(mark, here, f"expected {expected}, got {_kind(value)}")
        return
    if validator == "pattern" and schema.get("x-secret"):
        # The value may be a secret pasted where a variable name belongs: never echo it.
        yield Problem(mark, here, str(custom))
        return
    if validator == "pattern":
        yield Problem(
            mark,
            here,
            f"{_show(value)}: {custom or 'does not match ' + str(rule_value)}",
        )
        return
    if validator in ("minItems", "minProperties"):
        yield Problem(mark, here, "must not be empty")
        return
    if validator == "minLength":
        yield Problem(mark, here, "must not be an empty string")
        return
    if validator == "uniqueItems":
        yield Problem(mark, here, "has duplicate entries")
        return
    if validator is None or validator == "False schema":
        yield Problem(mark, here, "not allowed here")
        return
    yield Problem(mark, here, error.message)


def schema_problems(doc: Document) -> list[Problem]:
    """Every way ``doc`` breaks the schema, as located problems (empty when valid)."""
    problems: list[Problem] = []
    for error in _validator().iter_errors(doc.data):
        problems.extend(_problems_of(error, doc))
    return problems
