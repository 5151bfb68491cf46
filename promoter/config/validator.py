"""A small validator for the part of JSON Schema draft 2020-12 that pipeline.schema.json uses.

Why not ``jsonschema`` at run time: importing it (and ``referencing``,
``rpds``, ``attrs``) costs more than the rest of ``promoter validate``
together. The shipped schema uses a fixed set of keywords; this module
implements exactly those, with the same semantics as ``jsonschema``, and
refuses a schema that uses anything else (``UnsupportedKeyword``). The tests
check it against ``jsonschema`` on the shipped schema and on random documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from promoter.config.problems import KeyPath
from promoter.structs import struct

__all__ = ["ANNOTATIONS", "KEYWORDS", "SchemaViolation", "UnsupportedKeyword", "iter_violations"]

#: Keywords that constrain; every other key of a schema must be an annotation.
KEYWORDS = frozenset(
    {
        "$ref",
        "type",
        "enum",
        "const",
        "properties",
        "additionalProperties",
        "required",
        "propertyNames",
        "minProperties",
        "items",
        "minItems",
        "uniqueItems",
        "pattern",
        "minLength",
        "minimum",
        "exclusiveMinimum",
        "maximum",
        "allOf",
        "if",
        "then",
        "else",
    }
)
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "default"})


class UnsupportedKeyword(ValueError):
    """The schema uses a keyword this validator does not implement."""


@struct(frozen=True)
class SchemaViolation:
    """One failed keyword: where in the document, which keyword, and its schema."""

    path: KeyPath
    keyword: str
    expected: Any
    instance: object
    schema: Mapping[str, Any]
    in_property_names: bool = False


def _is_type(value: object, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float))
    raise UnsupportedKeyword(f"type {name!r}")


def _equal(one: object, two: object) -> bool:
    """JSON equality: booleans are not numbers."""
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        return False
    return bool(one == two)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class _Validator:
    def __init__(self, root: Mapping[str, object]) -> None:
        self.root = root

    def resolve(self, ref: str) -> object:
        if not ref.startswith("#/"):
            raise UnsupportedKeyword(f"$ref {ref!r} (only local references)")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def valid(self, value: object, schema: object) -> bool:
        return next(self.check(value, schema, (), False), None) is None

    def check(
        self, value: Any, schema: Any, path: KeyPath, names: bool
    ) -> Iterator[SchemaViolation]:
        if schema is True:
            return
        if schema is False:
            yield SchemaViolation(path, "false", False, value, {}, names)
            return
        for key in schema:
            if key not in KEYWORDS and key not in ANNOTATIONS and not key.startswith("x-"):
                raise UnsupportedKeyword(key)
        yield from self._simple(value, schema, path, names)
        if "$ref" in schema:
            yield from self.check(value, self.resolve(schema["$ref"]), path, names)
        if isinstance(value, dict):
            yield from self._object(value, schema, path, names)
        if isinstance(value, list):
            yield from self._array(value, schema, path, names)
        for sub in schema.get("allOf", ()):
            yield from self.check(value, sub, path, names)
        if "if" in schema:
            branch = "then" if self.valid(value, schema["if"]) else "else"
            if branch in schema:
                yield from self.check(value, schema[branch], path, names)

    def _simple(
        self, value: Any, schema: Mapping[str, Any], path: KeyPath, names: bool
    ) -> Iterator[SchemaViolation]:
        def violation(keyword: str) -> SchemaViolation:
            return SchemaViolation(path, keyword, schema[keyword], value, schema, names)

        if "type" in schema:
            wanted = schema["type"]
            kinds = [wanted] if isinstance(wanted, str) else wanted
            if not any(_is_type(value, kind) for kind in kinds):
                yield violation("type")
        if "enum" in schema and not any(_equal(value, item) for item in schema["enum"]):
            yield violation("enum")
        if "const" in schema and not _equal(value, schema["const"]):
            yield violation("const")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # As jsonschema compares: a NaN breaks none of these (the checks refuse it).
            if "minimum" in schema and value < schema["minimum"]:
                yield violation("minimum")
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                yield violation("exclusiveMinimum")
            if "maximum" in schema and value > schema["maximum"]:
                yield violation("maximum")
        if isinstance(value, str):
            if "pattern" in schema and not _regex(schema["pattern"]).search(value):
                yield violation("pattern")
            if "minLength" in schema and len(value) < schema["minLength"]:
                yield violation("minLength")

    def _object(
        self, value: dict[str, Any], schema: Mapping[str, Any], path: KeyPath, names: bool
    ) -> Iterator[SchemaViolation]:
        properties = schema.get("properties", {})
        for key, sub in properties.items():
            if key in value:
                yield from self.check(value[key], sub, (*path, key), names)
        if "additionalProperties" in schema:
            extra = [key for key in value if key not in properties]
            rule = schema["additionalProperties"]
            if rule is False:
                if extra:
                    yield SchemaViolation(path, "additionalProperties", False, value, schema, names)
            else:
                for key in extra:
                    yield from self.check(value[key], rule, (*path, key), names)
        if "required" in schema and any(key not in value for key in schema["required"]):
            yield SchemaViolation(path, "required", schema["required"], value, schema, names)
        if "propertyNames" in schema:
            for key in value:
                yield from self.check(key, schema["propertyNames"], path, True)
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            yield SchemaViolation(
                path, "minProperties", schema["minProperties"], value, schema, names
            )

    def _array(
        self, value: list[Any], schema: Mapping[str, Any], path: KeyPath, names: bool
    ) -> Iterator[SchemaViolation]:
        if "items" in schema:
            for index, item in enumerate(value):
                yield from self.check(item, schema["items"], (*path, index), names)
        if "minItems" in schema and len(value) < schema["minItems"]:
            yield SchemaViolation(path, "minItems", schema["minItems"], value, schema, names)
        if schema.get("uniqueItems") and any(
            _equal(a, b) for i, a in enumerate(value) for b in value[i + 1 :]
        ):
            yield SchemaViolation(path, "uniqueItems", True, value, schema, names)


def iter_violations(document: object, schema: Mapping[str, object]) -> Iterator[SchemaViolation]:
    """Every way ``document`` breaks ``schema`` (nothing when it is valid)."""
    yield from _Validator(schema).check(document, schema, (), False)
