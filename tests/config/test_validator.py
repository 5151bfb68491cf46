"""The built-in schema validator agrees with jsonschema on the shipped schema.

promoter validates pipeline files with ``promoter.config.validator`` (fast to
import); ``jsonschema`` is the reference. Both must find the same violations,
keyword for keyword and path for path, on random and mutated documents.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema.validators import Draft202012Validator

from promoter.config.schema import schema_dict
from promoter.config.validator import (
    ANNOTATIONS,
    KEYWORDS,
    UnsupportedKeyword,
    iter_violations,
)
from tests.config.cli_runner import ROOT

SCHEMA = schema_dict()
REFERENCE = Draft202012Validator(SCHEMA)
PIPELINES = [
    yaml.safe_load(path.read_text())
    for path in [ROOT / "pipeline.yml", *sorted(ROOT.glob("examples/*/pipeline.yml"))]
]


def ours(document: Any) -> set[tuple[tuple[Any, ...], str]]:
    return {(violation.path, violation.keyword) for violation in iter_violations(document, SCHEMA)}


def reference(document: Any) -> set[tuple[tuple[Any, ...], str]]:
    return {
        (tuple(error.absolute_path), error.validator if error.validator else "false")
        for error in REFERENCE.iter_errors(document)
    }


def test_the_schema_uses_only_supported_keywords() -> None:
    def walk(schema: Any) -> None:
        if isinstance(schema, bool):
            return
        for key, value in schema.items():
            assert key in KEYWORDS or key in ANNOTATIONS or key.startswith("x-"), key
            if key in ("properties", "$defs"):
                for sub in value.values():
                    walk(sub)
            elif key == "allOf":
                for sub in value:
                    walk(sub)
            elif key in ("additionalProperties", "items", "propertyNames", "if", "then", "else"):
                walk(value)

    walk(SCHEMA)


def test_an_unknown_keyword_is_refused() -> None:
    with pytest.raises(UnsupportedKeyword, match="maxLength"):
        list(iter_violations("x", {"maxLength": 3}))


@pytest.mark.parametrize("document", PIPELINES)
def test_shipped_pipelines_are_valid_for_both(document: Any) -> None:
    assert ours(document) == reference(document) == set()


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-5, max_value=5)
    | st.floats(allow_nan=False)
    | st.sampled_from([1.0, "1", "", "x", "basic", "azure", "staging/web", "linux/amd64", "warn"])
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["host", "kind", "rule", "to", "tags", "max", "x", "labels", "build"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_paths(value, (*prefix, index)))
    return out


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.data())
def test_same_violations_on_mutated_pipelines(data: st.DataObject) -> None:
    document = copy.deepcopy(data.draw(st.sampled_from(PIPELINES)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(_paths(document)))
        if not path:
            continue
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(values)
    assert ours(document) == reference(document)


@settings(max_examples=200, deadline=None, database=None)
@given(
    document=st.dictionaries(
        st.sampled_from(["version", "registries", "images", "policies", "x"]), values
    )
)
def test_same_violations_on_random_documents(document: dict[str, Any]) -> None:
    assert ours(document) == reference(document)
