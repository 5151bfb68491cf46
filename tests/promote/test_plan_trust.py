"""What a plan says that ``apply`` does not take on trust, on real registries.

The plan's policy results are checked again on the digest it promotes, its git
context must be the applying job's, and the pipeline file it names must be in
the checkout apply runs in. Each plan is made by ``promoter plan``, edited as
a writer of the artifact would, and given to ``apply`` (``--shard``,
``--finish``): refused, and nothing written to either production registry.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.promote.project import CLEAN_ENV, Project, head_digest, record_document
from tests.promote.test_plan_binding import _cli, _plan, _tags, _untouched, _write
from tests.support.cli import run_cli

pytestmark = pytest.mark.registry


def _github(project: Project, ref: str = "refs/tags/v1.2.3", sha: str = "") -> dict[str, str]:
    """A GitHub Actions job's environment at ``ref`` (the checkout's HEAD by default)."""
    return {
        **CLEAN_ENV,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request" if ref.startswith("refs/pull/") else "push",
        "GITHUB_REF": ref,
        "GITHUB_SHA": sha or project.head(),
        "GITHUB_WORKSPACE": str(project.root),
    }


def _on_ci(
    project: Project, env: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return run_cli(args, cwd=project.root, env=dict(env))


def _flip_blocked(document: dict[str, Any]) -> None:
    """Every blocked action a copy, and the policy results all passes."""
    image = document["images"][0]
    for action in image["actions"]:
        if action["action"] == "blocked":
            action.update(action="copy", reason="")
    policy = image["policy"]
    for result in policy["results"]:
        result["status"] = "pass"
    policy.update(ok=True, summary={"pass": len(policy["results"]), "fail": 0, "warn": 0})


def test_a_blocked_image_made_a_copy_is_checked_again_and_refused(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    image = project.seed(user="0")  # non-root fails
    planned = _plan(project, code=1)
    [failed] = [r for r in planned["images"][0]["policy"]["results"] if r["status"] == "fail"]
    assert {a["action"] for a in planned["images"][0]["actions"]} == {"blocked", "skipped"}
    edited = copy.deepcopy(planned)
    _flip_blocked(edited)
    _write(project, edited)
    says = (
        f"error: plan.json: image web: the enforced policy non-root fails on "
        f"{project.staging.host}/web@{image.digest} ({failed['message']}); "
        "the plan said it passed; nothing was written"
    )
    for extra in ((), ("--shard", "1/2"), ("--finish",)):
        refused = _cli("apply", "plan.json", *extra, cwd=project.root)
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.splitlines()[0] == says, (extra, refused.stderr)
        _untouched(project)


def test_a_digest_swapped_for_another_in_staging_is_refused(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    image = project.seed()
    failing = project.seed(seed="2", user="0", tag="root")
    passing = project.seed(seed="3", tag="other")
    planned = _plan(project)
    assert planned["images"][0]["digest"] == image.digest
    # another digest, one that fails a policy: the policies run on it
    edited = copy.deepcopy(planned)
    edited["images"][0]["digest"] = edited["images"][0]["policy"]["digest"] = failing.digest
    _write(project, edited)
    refused = _cli("apply", "plan.json", cwd=project.root)
    assert refused.returncode == 1, refused.stderr
    first = refused.stderr.splitlines()[0]
    assert first.startswith(
        f"error: plan.json: image web: the enforced policy non-root fails on "
        f"{project.staging.host}/web@{failing.digest} ("
    ), first
    assert first.endswith("; the plan said it passed; nothing was written"), first
    _untouched(project)
    # another digest that passes: the staging tag the rules name does not name it
    edited["images"][0]["digest"] = edited["images"][0]["policy"]["digest"] = passing.digest
    _write(project, edited)
    stale = _cli("apply", "plan.json", cwd=project.root)
    assert stale.returncode == 1, stale.stderr
    assert f"{project.staging.host}/web:1.2.3 now names {image.digest}" in stale.stderr
    _untouched(project)
    # ... nor can the plan name another staging tag to read it at
    edited["images"][0]["stagingTag"] = "other"
    _write(project, edited)
    moved = _cli("apply", "plan.json", cwd=project.root)
    assert moved.returncode == 1, moved.stderr
    assert moved.stderr.splitlines()[0] == (
        "error: plan.json: image web: the plan reads its digest at staging tag 'other', "
        "pipeline.yml's tag rules name '1.2.3'; nothing was written"
    )
    _untouched(project)
    _write(project, planned)
    applied = _cli("apply", "plan.json", cwd=project.root)
    assert applied.returncode == 0, applied.stderr
    assert head_digest(project.prod_a, "web", "1.2.3") == image.digest


def test_a_plan_of_another_git_context_is_refused_on_ci(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    image = project.seed()
    sha = project.head()
    at_tag = _github(project)
    made = _on_ci(project, at_tag, "plan", "-f", "pipeline.yml", "--out", "plan.json")
    assert made.returncode == 0, made.stderr
    planned = _plan_file(project)
    assert (planned["context"]["ref"], planned["context"]["sha"]) == ("refs/tags/v1.2.3", sha)
    # the tag build's plan, applied by a pull request's job: refused
    pull = _github(project, "refs/pull/7/merge", "f" * 40)
    refused = _on_ci(project, pull, "apply", "plan.json")
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines()[0] == (
        f"error: plan.json was made at refs/tags/v1.2.3 ({sha[:7]}), this job runs at "
        "refs/pull/7/merge (fffffff); make the plan in this run"
    )
    _untouched(project)
    # a plan whose ref or commit was edited, applied at the real ones: refused
    for key, value, shown in (
        ("ref", "refs/heads/main", f"refs/heads/main ({sha[:7]})"),
        ("sha", "a" * 40, "refs/tags/v1.2.3 (aaaaaaa)"),
    ):
        edited = copy.deepcopy(planned)
        edited["context"][key] = value
        _write(project, edited)
        refused = _on_ci(project, at_tag, "apply", "plan.json")
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.splitlines()[0] == (
            f"error: plan.json was made at {shown}, this job runs at "
            f"refs/tags/v1.2.3 ({sha[:7]}); make the plan in this run"
        )
        _untouched(project)
    _write(project, planned)
    applied = _on_ci(project, at_tag, "apply", "plan.json")
    assert applied.returncode == 0, applied.stderr
    assert head_digest(project.prod_b, "web", "1.2.3") == image.digest


def _plan_file(project: Project) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((project.root / "plan.json").read_text())
    return document


def test_off_ci_the_plan_must_be_of_the_checkouts_head(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    image = project.seed()
    planned = _plan(project)
    before = project.head()
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", "later"],
        cwd=project.root,
        env=CLEAN_ENV,
        check=True,
    )
    after = project.head()
    refused = _cli("apply", "plan.json", cwd=project.root)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines()[0] == (
        f"error: plan.json was made at commit {before[:7]}, the checkout {project.root} is at "
        f"{after[:7]}; make the plan again from this checkout"
    )
    _untouched(project)
    subprocess.run(["git", "reset", "-q", "--hard", before], cwd=project.root, check=True)
    _write(project, planned)
    applied = _cli("apply", "plan.json", cwd=project.root)
    assert applied.returncode == 0, applied.stderr
    assert _tags(project.prod_a) == ["1.2.3", "latest"]
    assert head_digest(project.prod_a, "web", "latest") == image.digest


def test_a_plan_naming_a_pipeline_file_outside_the_checkout_is_refused(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    image = project.seed()
    planned = _plan(project)
    root = os.path.realpath(project.root)
    outside = tmp_path / "supplied.yml"  # the same bytes: the recorded SHA-256 matches
    outside.write_bytes(project.file.read_bytes())
    for recorded in (str(outside), "../supplied.yml"):
        edited = copy.deepcopy(planned)
        edited["pipeline"]["path"] = recorded
        _write(project, edited)
        for env in (CLEAN_ENV, _github(project)):
            refused = _on_ci(project, env, "apply", "plan.json")
            assert refused.returncode == 2, refused.stderr
            assert refused.stderr.splitlines()[:2] == [
                f"error: plan.json: the plan's pipeline file {recorded!r} is outside "
                f"{root}, the checkout apply runs in: a plan does not choose its pipeline file",
                "hint: give the checkout's pipeline file with -f",
            ], refused.stderr
            _untouched(project)
    # the checkout's file, given with -f, is the one used
    applied = _cli("apply", "plan.json", "-f", "pipeline.yml", cwd=project.root)
    assert applied.returncode == 0, applied.stderr
    assert head_digest(project.prod_b, "web", "1.2.3") == image.digest


@pytest.mark.parametrize("policies", ["  - rule: non-root\n", ""])
def test_the_records_state_the_check_made_at_apply_not_the_plans(
    make_project: Callable[..., Project], policies: str
) -> None:
    project = make_project(policies=policies)
    image = project.seed()
    planned = _plan(project)
    edited = copy.deepcopy(planned)
    claimed = {"rule": "a-rule-that-never-ran", "status": "pass", "mode": "enforce"}
    edited["images"][0]["policy"]["results"] = [{**claimed, "message": "edited", "file": None}]
    _write(project, edited)
    applied = _cli("apply", "plan.json", "--output", "json", cwd=project.root)
    assert applied.returncode == 0, applied.stderr
    report = json.loads(applied.stdout)
    rules = ["non-root"] if policies else []  # no policy: nothing checked, nothing claimed
    assert [r["rule"] for r in report["checks"]["web"]["results"]] == rules
    assert report["checks"]["web"]["digest"] == image.digest
    for destination in report["promotion"]["images"][0]["destinations"]:
        registry = destination["destination"].split("/", 1)[0]
        record = record_document(f"http://{registry}", destination["record"])
        assert [r["rule"] for r in record["policy"]["results"]] == rules
        assert record["policy"]["ok"] is True
