"""Property: whatever the file holds, validate exits 0 or 2 and never shows a traceback.

Random YAML documents (generated structures dumped to YAML), mutations of a
valid pipeline (values replaced, keys dropped or added), text edits of it,
and random bytes. Runs in-process through ``promoter.cli.main.main``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.config.cli_runner import ROOT, run_in_process

BASE = yaml.safe_load((ROOT / "examples" / "quickstart" / "pipeline.yml").read_text())
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["{{version}}", "{{verison}}", "500M", "500MiB", "staging/x", "branch:"])
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(max_size=12) | st.sampled_from(["version", "images", "rule", "to"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=40,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("property")
    app = folder / "app"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM scratch\n")
    return folder


def _validate(workdir: Path, content: bytes) -> None:
    target = workdir / "pipeline.yml"
    target.write_bytes(content)
    outcome = run_in_process(["validate", "-f", str(target)])
    assert outcome.code in (0, 2), outcome
    assert "Traceback" not in outcome.stderr
    assert "internal error" not in outcome.stderr
    if outcome.code == 2:
        assert outcome.first_error_line.startswith(f"error: {target}"), outcome.stderr


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_paths(value, (*prefix, index)))
    return out


def _mutate(data: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "drop":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[f"{last}x"] = value
    elif action == "add" and isinstance(parent, list):
        parent.append(value)
    else:
        parent[last] = value
    return data


@SETTINGS
@given(document=documents)
def test_random_yaml_documents(workdir: Path, document: Any) -> None:
    _validate(workdir, yaml.safe_dump(document, allow_unicode=True).encode())


@SETTINGS
@given(data=st.data())
def test_mutated_valid_pipelines(workdir: Path, data: st.DataObject) -> None:
    pipeline = copy.deepcopy(BASE)
    # Keep the build context valid in the work folder more often than not.
    pipeline["images"]["hello"]["build"]["context"] = "app"
    pipeline["images"]["hello"]["build"].pop("dockerfile", None)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(pipeline)
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["replace", "drop", "add"]))
        value = data.draw(documents)
        pipeline = _mutate(pipeline, path, action if path else "replace", value)
    _validate(workdir, yaml.safe_dump(pipeline, allow_unicode=True).encode())


@SETTINGS
@given(data=st.data())
def test_text_edits_of_a_valid_pipeline(workdir: Path, data: st.DataObject) -> None:
    text = (ROOT / "examples" / "quickstart" / "pipeline.yml").read_text()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(text)))
        cut = data.draw(st.integers(min_value=0, max_value=8))
        insert = data.draw(st.text(alphabet=" \t\n:-[]{}&*!|>'\"#%@`,?a1", max_size=4))
        text = text[:at] + insert + text[at + cut :]
    _validate(workdir, text.encode())


@SETTINGS
@given(content=st.binary(max_size=2048))
def test_random_bytes(workdir: Path, content: bytes) -> None:
    _validate(workdir, content)
