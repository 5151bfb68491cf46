"""A plan file is input: strict JSON, the published schema, and provenance checked before any request.

Each broken plan is exit 2 with one line naming the file (and the key path)
and no registry is contacted: the plans here name registries on a port where
nothing listens, so any request would be exit 3, not 2.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promoter.config.inputfile import MAX_FILE_BYTES
from tests.config.cli_runner import ROOT, CliResult, run_in_process

D = "sha256:" + "a" * 64
E = "sha256:" + "b" * 64
NOWHERE = "127.0.0.1:9"
#: The quickstart's pipeline file, as a plan made from it records it.
QUICKSTART = (
    "sha256:"
    + hashlib.sha256((ROOT / "examples" / "quickstart" / "pipeline.yml").read_bytes()).hexdigest()
)


def _plan() -> dict[str, Any]:
    """A valid plan of the quickstart's image, reading from its staging repository."""
    return {
        "format": "promoter.plan/v1",
        "file": "pipeline.yml",
        "pipeline": {"path": "pipeline.yml", "sha256": QUICKSTART},
        "created": "2026-01-01T00:00:00+00:00",
        "context": {
            "sha": "c" * 40,
            "ref": "refs/tags/v1.0.0",
            "source": None,
            "runUrl": None,
            "event": "push",
            "commitDate": None,
            "baseRef": None,
            "pullRequestBaseRef": None,
            "eventDefaultBranch": None,
            "defaultBranch": "main",
            "time": "2026-01-01T00:00:00+00:00",
        },
        "registries": {
            "127.0.0.1:5000": {"alias": "staging", "insecure": True, "auth": "docker-config"},
            "127.0.0.1:5001": {"alias": "prod-a", "insecure": True, "auth": "docker-config"},
        },
        "summary": {"copy": 1},
        "unknownDigests": [],
        "images": [
            {
                "image": "hello",
                "source": "127.0.0.1:5000/hello",
                "digest": D,
                "digestFrom": "staging-tag",
                "stagingTag": "1.0.0",
                "policy": {"ok": True, "reference": "x", "digest": D, "results": []},
                "actions": [
                    {
                        "destination": "127.0.0.1:5001/hello",
                        "tag": "1.0.0",
                        "action": "copy",
                        "current": None,
                        "mutable": False,
                        "when": "tag",
                        "reason": "",
                        "line": 38,
                    }
                ],
            }
        ],
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples" / "quickstart", tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMOTER_TIMEOUT", "5")
    return tmp_path


def _apply(project: Path, document: Any) -> str:
    plan = project / "plan.json"
    plan.write_text(document if isinstance(document, str) else json.dumps(document))
    outcome: CliResult = run_in_process(["apply", "plan.json"])
    assert outcome.code == 2, outcome
    assert "Traceback" not in outcome.stderr and "internal error" not in outcome.stderr
    return outcome.first_error_line


def test_the_published_schema_is_draft_2020_12_and_accepts_a_plan() -> None:
    printed = run_in_process(["schema", "--plan"])
    assert printed.code == 0
    schema = json.loads(printed.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(_plan(), schema)
    assert schema["title"] == "promoter.plan/v1"


def test_the_string_false_does_not_turn_tls_off(project: Path) -> None:
    plan = _plan()
    plan["registries"]["127.0.0.1:5001"]["insecure"] = "false"
    first = _apply(project, plan)
    assert first == (
        "error: plan.json: registries['127.0.0.1:5001'].insecure: expected true or false, got a string"
    )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            lambda p: p["images"][0]["actions"][0].update(mutable="yes"),
            "images[0].actions[0].mutable: expected true or false",
        ),
        (
            lambda p: p["images"][0]["actions"][0].update(tag="tâg"),
            "images[0].actions[0].tag: 'tâg'",
        ),
        (lambda p: p["images"][0]["actions"][0].update(tag="x" * 129), "images[0].actions[0].tag:"),
        (lambda p: p["images"][0]["actions"][0].update(tag="v1\n"), "images[0].actions[0].tag:"),
        (lambda p: p["images"][0].update(digest=D + "\n"), "images[0].digest:"),
        (lambda p: p["images"][0].update(digest=1), "images[0].digest: expected a string or null"),
        (
            lambda p: p["images"][0]["actions"][0].update(line="38"),
            "images[0].actions[0].line: expected an integer",
        ),
        (lambda p: p["images"][0].update(extra=1), "images[0].extra: unknown key 'extra'"),
        (lambda p: p.update(images={}), "images: expected a list"),
    ],
    ids=[
        "truthy-bool",
        "non-ascii-tag",
        "long-tag",
        "newline-tag",
        "newline-digest",
        "number-digest",
        "string-line",
        "unknown-key",
        "images-mapping",
    ],
)
def test_strict_types(project: Path, change: Any, says: str) -> None:
    plan = copy.deepcopy(_plan())
    change(plan)
    first = _apply(project, plan)
    assert first.startswith(f"error: plan.json: {says}"), first


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"format": "promoter.plan/v1", "format": "promoter.plan/v1"}', "duplicate key 'format'"),
        ('{"format": "promoter.plan/v1", "n": NaN}', "NaN is not a JSON number"),
        ('{"format": "promoter.plan/v1", "n": ' + "1" * 5000 + "}", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("\xff", "not valid JSON"),
    ],
    ids=["duplicate", "nan", "huge-int", "deep", "garbage"],
)
def test_broken_json(project: Path, text: str, says: str) -> None:
    first = _apply(project, text)
    assert first.startswith("error: plan.json:") and says in first, first


def test_a_plan_past_the_cap_is_refused(project: Path) -> None:
    (project / "plan.json").write_text(" " * (MAX_FILE_BYTES + 1))
    outcome = run_in_process(["apply", "plan.json"])
    assert outcome.code == 2
    assert f"limited to {MAX_FILE_BYTES} bytes" in outcome.first_error_line


def test_a_plan_that_is_a_device_is_not_read(project: Path) -> None:
    outcome = run_in_process(["apply", "/dev/zero"])
    assert (outcome.code, outcome.first_error_line) == (
        2,
        "error: /dev/zero: is not a regular file",
    )


def test_a_digest_that_is_not_the_checked_digest_is_refused(project: Path) -> None:
    plan = _plan()
    plan["images"][0]["digest"] = E
    first = _apply(project, plan)
    assert first == (
        f"error: hello: the plan's checks were made on {D}, not on the digest it promotes ({E})"
    )


def test_a_source_that_is_not_the_staging_repository_is_refused(project: Path) -> None:
    plan = _plan()
    plan["images"][0]["source"] = "127.0.0.1:5002/hello"
    first = _apply(project, plan)
    assert first.startswith(
        "error: hello: the plan's source 127.0.0.1:5002/hello is not the image's staging "
        "repository 127.0.0.1:5000/hello in pipeline.yml"
    ), first


def test_a_plan_whose_pipeline_file_is_not_there_is_refused(project: Path) -> None:
    plan = _plan()
    plan["pipeline"]["path"] = "elsewhere/pipeline.yml"
    first = _apply(project, plan)
    assert first == (
        "error: the plan's pipeline file 'elsewhere/pipeline.yml' is not there: "
        "the plan cannot be checked against it"
    )


def test_an_image_the_pipeline_does_not_declare_is_refused(project: Path) -> None:
    plan = _plan()
    plan["images"][0]["image"] = "other"
    first = _apply(project, plan)
    assert first.startswith("error: other: no such image in pipeline.yml"), first


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=4),
    value=st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=6)
    | st.just([])
    | st.just({}),
)
def test_generated_plans_are_refused_with_a_key_path_or_pass(
    project: Path, path: list[int], value: Any
) -> None:
    """Replace one value somewhere in a valid plan: exit 2 naming plan.json, never an internal error."""
    plan: Any = _plan()
    node = plan
    for step in path[:-1]:
        children = (
            list(node.items())
            if isinstance(node, dict)
            else list(enumerate(node))
            if isinstance(node, list)
            else []
        )
        if not children or not isinstance(children[step % len(children)][1], (dict, list)):
            break
        node = children[step % len(children)][1]
    if isinstance(node, dict) and node:
        node[sorted(node)[path[-1] % len(node)]] = value
    elif isinstance(node, list) and node:
        node[path[-1] % len(node)] = value
    (project / "plan.json").write_text(json.dumps(plan))
    outcome = run_in_process(["apply", "plan.json"])
    assert "internal error" not in outcome.stderr and "Traceback" not in outcome.stderr
    # 1: a plan doing what the pipeline file does not produce; 3: a valid plan reaching
    # for a registry that is not there
    assert outcome.code in (0, 1, 2, 3), outcome
    if outcome.code == 1:
        first = outcome.first_error_line
        assert first.startswith("error: plan.json"), first
    if outcome.code == 2:
        first = outcome.first_error_line
        assert (
            first.startswith("error: plan.json: ") or "the plan" in first or "pipeline.yml" in first
        ), first
