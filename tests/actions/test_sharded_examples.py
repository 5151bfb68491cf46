"""The sharded promotion examples (``examples/*/promote-sharded.yml``): valid against the
published schemas, and wired as the issue asks: a plan job, four shard jobs, one finish."""

from __future__ import annotations

import json
from typing import Any

import yaml

from promoter.promote.shard import ShardSpec, parse_shard
from tests.actions.test_azure_task import TASK_JSON, _with_task
from tests.actions.test_azure_task import _errors as _azure_errors
from tests.actions.test_azure_task import _schema as _azure_schema
from tests.actions.test_ci_schemas import ACTION, ROOT, _errors, _load, _schema
from tests.support.actions_runner import pinned_uses, substitute

GITHUB = ROOT / "examples" / "github" / "promote-sharded.yml"
AZURE = ROOT / "examples" / "azure-devops" / "promote-sharded.yml"


def _steps(job: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(prefix)]


def test_the_github_example_plans_then_four_shards_then_finishes() -> None:
    workflow = _load(GITHUB)
    assert _errors(_schema("github-workflow.json"), workflow) == []
    jobs = workflow["jobs"]
    assert list(jobs) == ["plan", "shard", "finish"]
    own = "acme-platform/promoter/actions/github@"
    (plan,) = _steps(jobs["plan"], own)
    assert plan["with"] == {"command": "plan", "plan-file": "plan.json"}
    (upload,) = _steps(jobs["plan"], "actions/upload-artifact@")
    assert upload["with"]["path"] == "plan.json"

    shard = jobs["shard"]
    assert shard["needs"] == "plan" and shard["strategy"]["matrix"]["shard"] == [1, 2, 3, 4]
    (download,) = _steps(shard, "actions/download-artifact@")
    assert download["with"]["name"] == upload["with"]["name"]
    (step,) = _steps(shard, own)
    assert step["with"]["command"] == "apply" and step["with"]["plan-file"] == "plan.json"
    # each job of the matrix gets its own valid I/N, as the runner substitutes it
    specs = [
        parse_shard(
            substitute(step["with"]["args"], {"matrix": {"shard": i}, "strategy": {"job-total": 4}})
            .split("--shard ")[1]
            .strip(),
            {},
        )
        for i in shard["strategy"]["matrix"]["shard"]
    ]
    assert specs == [ShardSpec(i, 4) for i in range(1, 5)]

    finish = jobs["finish"]
    assert "shard" in finish["needs"]
    (step,) = _steps(finish, own)
    assert step["with"] == {"command": "apply", "plan-file": "plan.json", "args": "--finish"}
    assert _steps(finish, "actions/download-artifact@")
    for job in jobs.values():
        assert job["permissions"]["id-token"] == "write"
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step  # expressions reach scripts via env


def test_the_github_example_pins_what_workflow_yml_pins_and_uses_the_actions_inputs() -> None:
    text = GITHUB.read_text(encoding="utf-8")
    third_party = "\n".join(
        line for line in text.splitlines() if "uses:" in line and "/promoter/" not in line
    )
    pinned = set(pinned_uses(third_party))
    theirs = (ROOT / "examples" / "github" / "workflow.yml").read_text(encoding="utf-8")
    workflow = set(
        pinned_uses("\n".join(line for line in theirs.splitlines() if "/promoter/" not in line))
    )
    shared = {ref.split("@")[0] for ref in workflow}
    assert {ref for ref in pinned if ref.split("@")[0] in shared} <= workflow
    assert {ref.split("@")[0] for ref in pinned} == shared | {
        "actions/upload-artifact",
        "actions/download-artifact",
    }
    inputs = set(yaml.safe_load(ACTION.read_text())["inputs"])
    for job in _load(GITHUB)["jobs"].values():
        for step in _steps(job, "acme-platform/promoter/"):
            assert set(step["with"]) <= inputs


def test_the_azure_example_runs_four_parallel_shards_then_a_finishing_deployment() -> None:
    document = yaml.safe_load(AZURE.read_text())
    task = json.loads(TASK_JSON.read_text())
    assert _azure_errors(_with_task(_azure_schema("azure-pipelines.json"), task), document) == []
    plan_stage, promote = document["stages"]
    (plan_job,) = plan_stage["jobs"]
    plan_task = next(s for s in plan_job["steps"] if s.get("task") == "Promoter@0")
    assert plan_task["inputs"]["command"] == "plan"
    publish = next(s for s in plan_job["steps"] if "publish" in s)
    assert publish["publish"] == plan_task["inputs"]["planFile"]
    assert promote["dependsOn"] == "plan"

    shard, finish = promote["jobs"]
    assert shard["strategy"] == {"parallel": "4"}
    shard_task = next(s for s in shard["steps"] if s.get("task") == "Promoter@0")
    assert shard_task["inputs"]["command"] == "apply"
    assert shard_task["inputs"]["args"] == "--shard auto"
    # what the agent sets in each of the four jobs
    assert [
        parse_shard("auto", {"SYSTEM_JOBPOSITIONINPHASE": str(i), "SYSTEM_TOTALJOBSINPHASE": "4"})
        for i in range(1, 5)
    ] == [ShardSpec(i, 4) for i in range(1, 5)]
    downloads = [s for s in shard["steps"] if "download" in s]
    assert downloads[0]["artifact"] == publish["artifact"]

    assert finish["dependsOn"] == "shard" and finish["environment"] == "production"
    steps = finish["strategy"]["runOnce"]["deploy"]["steps"]
    finish_task = next(s for s in steps if s.get("task") == "Promoter@0")
    assert finish_task["inputs"]["args"] == "--finish"
    assert finish_task["inputs"]["planFile"] == shard_task["inputs"]["planFile"]
