"""A plan file is input: strict JSON, the published schema, and provenance checked before any request.

Each broken plan is exit 2 with one line naming the file (and the key path)
and no registry is contacted: the plans here name registries on a port where
nothing listens, so any request would be exit 3, not 2.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from promoter.config.inputfile import MAX_FILE_BYTES
from tests.config.cli_runner import ROOT, Outcome, run_in_process

D = "sha256:" + "a" * 64
E = "sha256:" + "b" * 64
NOWHERE = "127.0.0.1:9"


def _plan() -> dict[str, Any]:
    """A valid plan of the quickstart's image, reading from its staging repository."""
    return {
        "format": "promoter.plan/v1",
        "file": "pipeline.yml",
        "created": "2026-01-01T00:00:00+00:00",
        "context": {"sha": "c" * 40, "ref": "refs/tags/v1.0.0", "source": None, "runUrl": None},
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
    outcome: Outcome = run_in_process(["apply", "plan.json"])
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
    assert first.startswith("error: plan.json: ") and says in first, first


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


def test_an_image_the_pipeline_does_not_declare_is_refused(project: Path) -> None:
    plan = _plan()
    plan["images"][0]["image"] = "other"
    first = _apply(project, plan)
    assert first.startswith("error: other: no such image in pipeline.yml"), first
