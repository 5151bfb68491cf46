"""The GitHub files validate against the published schemas (SchemaStore, draft-07).

``actions/github/action.yml`` against ``github-action.json`` and every
``examples/github/*.yml`` against ``github-workflow.json``: byte copies kept in
``<repo>/../shared/schemas`` (their sources in SOURCES.md there). Without that
folder the tests are skipped with the reason, and fail under CI (``CI=true``).
Every third-party ``uses:`` is pinned by commit with a ``# vX.Y.Z`` comment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.actions_runner import UnpinnedAction, pinned_uses
from tests.support.real_parts import require

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "schemas"
ACTION = ROOT / "actions" / "github" / "action.yml"
WORKFLOWS = sorted((ROOT / "examples" / "github").glob("*.yml"))
#: How the examples name promoter's own action: a placeholder owner, said so in a comment.
OWN_ACTION = re.compile(r"^[\w.-]+/promoter/actions/github@\S+$")


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as GitHub reads it: only true/false are booleans (YAML 1.1 also takes on/off)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)


def _schema(name: str) -> dict[str, Any]:
    path = SCHEMAS / name
    require(None if path.is_file() else f"{path} is missing (the shared schemas folder)")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _errors(schema: dict[str, Any], document: Any) -> list[str]:
    import jsonschema

    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]


def test_action_yml_matches_the_action_schema() -> None:
    schema = _schema("github-action.json")
    action = _load(ACTION)
    assert _errors(schema, action) == []
    assert action["runs"]["using"] == "composite"


def test_the_schema_catches_a_broken_action() -> None:
    schema = _schema("github-action.json")
    action = _load(ACTION)
    del action["runs"]["steps"]
    action["inputs"]["command"]["defaults"] = "run"
    assert _errors(schema, action)


def test_there_is_an_example_workflow() -> None:
    assert [p.name for p in WORKFLOWS] == ["promote-sharded.yml", "rollback.yml", "workflow.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_example_workflows_match_the_workflow_schema(path: Path) -> None:
    schema = _schema("github-workflow.json")
    workflow = _load(path)
    assert _errors(schema, workflow) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_example_workflows_pin_third_party_actions(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    third_party = [
        line for line in lines if "uses:" in line and "/promoter/actions/github@" not in line
    ]
    pinned = pinned_uses("\n".join(third_party))
    assert {ref.split("@")[0] for ref in pinned} >= {"actions/checkout", "azure/login"}
    own = [line for line in lines if "/promoter/actions/github@" in line]
    assert own and all(
        OWN_ACTION.match(line.split("uses:")[1].split("#")[0].strip()) for line in own
    )
    with pytest.raises(UnpinnedAction):
        pinned_uses("      - uses: actions/checkout@v7\n")


def test_the_example_logs_in_to_azure_through_oidc_and_passes_the_digest_on() -> None:
    workflow = _load(ROOT / "examples" / "github" / "workflow.yml")
    jobs = workflow["jobs"]
    events = workflow["on"]
    assert set(events) == {"pull_request", "push"} and "tags" in events["push"]
    assert jobs["stage"]["outputs"]["digest"] == "${{ steps.stage.outputs.digest }}"
    assert "stage" in jobs["check"]["needs"]
    assert "needs.stage.outputs.digest" in jobs["check"]["steps"][-1]["with"]["args"]
    for job in jobs.values():
        assert job["permissions"]["id-token"] == "write"
        assert any(str(s.get("uses", "")).startswith("azure/login@") for s in job["steps"])
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step  # expressions reach scripts via env
    assert "startsWith(github.ref, 'refs/tags/v')" in jobs["promote"]["if"]
    assert jobs["promote"]["steps"][-2]["with"]["command"] == "promote"


def test_the_rollback_example_takes_the_tag_as_input_and_passes_it_by_environment() -> None:
    workflow = _load(ROOT / "examples" / "github" / "rollback.yml")
    dispatch = workflow["on"]["workflow_dispatch"]["inputs"]
    assert set(dispatch) == {"tag", "to", "reason"} and dispatch["tag"]["required"] is True
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "production"
    step = next(s for s in job["steps"] if "/promoter/actions/github@" in str(s.get("uses")))
    assert step["with"]["command"] == "rollback" and "args" not in step["with"]
    assert step["env"] == {
        "PROMOTER_ROLLBACK_TAG": "${{ inputs.tag }}",
        "PROMOTER_ROLLBACK_TO": "${{ inputs.to }}",
        "PROMOTER_ROLLBACK_REASON": "${{ inputs.reason }}",
    }
    for s in job["steps"]:
        assert "${{" not in s.get("run", ""), s  # inputs reach scripts via env only
