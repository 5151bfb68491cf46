"""``promoter rollback`` on real registries: all destinations or none, refusals that write
nothing (the registries' access logs say so), plans that ``promoter apply`` carries out."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.promote.project import Project, head_digest, promoter_cli, record_document
from tests.promote.releases import history_of, release, roll_back
from tests.support.images import Image, make_image, push_http
from tests.support.registry import Registry
from tests.test_json_keys import bad_keys

pytestmark = pytest.mark.registry

_WRITES = ("PUT", "POST", "PATCH", "DELETE")


@pytest.fixture
def logged_project(registry_factory: Callable[..., Registry], tmp_path: Path) -> Project:
    """A project whose two productions keep an access log; no git tag yet."""
    staging = registry_factory()
    prod_a, prod_b = registry_factory(access_log=True), registry_factory(access_log=True)
    return Project(tmp_path / "project", staging, prod_a, prod_b, git_tag="")


def _writes(project: Project) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for registry in (project.prod_a, project.prod_b)
        for r in registry.requests()
        if r.method in _WRITES
    ]


def _latest(project: Project) -> tuple[str | None, str | None]:
    return (
        head_digest(project.prod_a, "web", "latest"),
        head_digest(project.prod_b, "web", "latest"),
    )


def _skopeo_digest(registry: Registry, tag: str) -> str:
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{registry.host}/web:{tag}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert inspected.returncode == 0, inspected.stderr
    digest: str = json.loads(inspected.stdout)["Digest"]
    return digest


@pytest.mark.skopeo
def test_rollback_moves_every_destination_and_records_it(
    make_project: Callable[..., Project],
) -> None:
    project = make_project(git_tag="")
    a, b = release(project, "2.0.0", "r0"), release(project, "2.0.1", "r1")
    result = roll_back(project, "--tag", "latest", "--reason", "bad release", "--output", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert list(bad_keys(report)) == []
    assert report["plan"]["kind"] == "rollback"
    assert report["plan"]["rollback"] == {
        "tag": "latest",
        "to": "previous",
        "reason": "bad release",
        "skippedChecks": False,
    }
    (outcome,) = report["promotion"]["images"]
    assert outcome["status"] == "rolled-back"
    assert outcome["digest"] == a.digest
    for registry, destination in zip(
        (project.prod_a, project.prod_b), outcome["destinations"], strict=True
    ):
        assert _skopeo_digest(registry, "latest") == a.digest
        assert _skopeo_digest(registry, "2.0.1") == b.digest  # immutable: never moved
        assert destination["tagsWritten"] == ["latest"]
        record = record_document(registry.url, destination["record"])
        assert record["kind"] == "rollback"
        assert record["digest"] == a.digest
        assert record["tags"] == ["latest"]
        assert record["previous"] == [{"tag": "latest", "digest": b.digest}]
        assert record["reason"] == "bad release"
        assert record["skippedChecks"] is False
        assert [r["rule"] for r in record["policy"]["results"]] == ["non-root"]


def test_immutable_and_unknown_tags_are_refused_writing_nothing(logged_project: Project) -> None:
    project = logged_project
    a, b = release(project, "2.0.0", "r0"), release(project, "2.0.1", "r1")
    before = len(_writes(project))
    immutable = roll_back(project, "--tag", "2.0.1", "--to", a.digest)
    assert immutable.returncode == 1, immutable.stderr
    assert immutable.stderr.startswith("error: web:2.0.1 is immutable")
    unknown = roll_back(project, "--tag", "nightly")
    assert unknown.returncode == 2, unknown.stderr
    assert "writes the tag 'nightly'" in unknown.stderr.splitlines()[0]
    other = promoter_cli("rollback", "api", "--tag", "latest", "-f", str(project.file))
    assert other.returncode == 2, other.stderr
    assert "no image 'api'" in other.stderr
    assert len(_writes(project)) == before
    assert head_digest(project.prod_a, "web", "2.0.1") == b.digest
    assert _latest(project) == (b.digest, b.digest)


def test_destinations_that_disagree_are_refused_unless_to_is_given(
    logged_project: Project,
) -> None:
    project = logged_project
    a, b, c = (release(project, f"2.0.{n}", f"r{n}") for n in range(3))
    # by hand, prod-b's latest goes back to b: its record there says a came before
    push_http(b_image := b, project.prod_b.url, "web", "latest")
    before = len(_writes(project))
    refused = roll_back(project, "--tag", "latest")
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.startswith("error: the destinations disagree")
    assert f"{project.prod_a.host}/web: {b_image.digest}" in refused.stderr
    assert f"{project.prod_b.host}/web: {a.digest}" in refused.stderr
    assert len(_writes(project)) == before
    assert _latest(project) == (c.digest, b.digest)
    chosen = roll_back(project, "--tag", "latest", "--to", b.digest, "--output", "json")
    assert chosen.returncode == 0, chosen.stderr
    actions = json.loads(chosen.stdout)["plan"]["images"][0]["actions"]
    assert [a_["action"] for a_ in actions] == ["tag", "noop"]
    assert _latest(project) == (b.digest, b.digest)


def test_a_digest_never_promoted_is_refused(logged_project: Project) -> None:
    project = logged_project
    release(project, "2.0.0", "r0")
    b = release(project, "2.0.1", "r1")
    stray = make_image(seed="stray", user="1000")
    for registry in (project.prod_a, project.prod_b):
        push_http(stray, registry.url, "web")  # content there, but no record says so
    staged = project.seed(seed="staged-only", tag="9.9.9")
    before = len(_writes(project))
    for digest, why in ((stray.digest, "no promotion record"), (staged.digest, "is not there")):
        result = roll_back(project, "--tag", "latest", "--to", digest)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(f"error: {digest} is not a promoted digest")
        assert why in result.stderr
    malformed = roll_back(project, "--tag", "latest", "--to", "sha256:nope")
    assert malformed.returncode == 2, malformed.stderr
    assert len(_writes(project)) == before
    assert _latest(project) == (b.digest, b.digest)


def test_dry_run_and_out_write_nothing_and_apply_carries_the_plan_out(
    logged_project: Project, tmp_path: Path
) -> None:
    project = logged_project
    a, b = release(project, "2.0.0", "r0"), release(project, "2.0.1", "r1")
    before = len(_writes(project))
    dry = roll_back(project, "--tag", "latest", "--dry-run", "--output", "json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["dryRun"] is True and planned["promotion"] is None
    assert [x["action"] for x in planned["plan"]["images"][0]["actions"]] == ["tag", "tag"]
    text = roll_back(project, "--tag", "latest", "--dry-run").stdout
    assert "rollback of latest (--to previous)" in text
    assert f"web: {a.digest} (the rollback's target" in text
    plan_file = tmp_path / "rollback.json"
    out = roll_back(project, "--tag", "latest", "--reason", "r", "--out", str(plan_file))
    assert out.returncode == 0, out.stderr
    edited = json.loads(plan_file.read_text())
    edited["images"][0]["actions"].pop()  # one destination only: not all or none
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    partial = promoter_cli("apply", str(tmp_path / "edited.json"), cwd=project.root)
    assert partial.returncode == 2, partial.stderr
    assert "not what" in partial.stderr
    for split in (("--shard", "1/2"), ("--finish",)):
        sharded = promoter_cli("apply", str(plan_file), *split, cwd=project.root)
        assert sharded.returncode == 2, sharded.stderr
        assert "moves tags only" in sharded.stderr
    assert len(_writes(project)) == before
    assert _latest(project) == (b.digest, b.digest)

    applied = promoter_cli("apply", str(plan_file), "--output", "json", cwd=project.root)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert json.loads(applied.stdout)["promotion"]["images"][0]["status"] == "rolled-back"
    assert _latest(project) == (a.digest, a.digest)
    top = history_of(project, f"{project.prod_b.host}/web:latest")["entries"][0]
    assert (top["digest"], top["kind"], top["reason"]) == (a.digest, "rollback", "r")


def test_apply_refuses_a_rollback_plan_once_the_tag_moved(
    logged_project: Project, tmp_path: Path
) -> None:
    project = logged_project
    release(project, "2.0.0", "r0")
    b = release(project, "2.0.1", "r1")
    plan_file = tmp_path / "rollback.json"
    out = roll_back(project, "--tag", "latest", "--out", str(plan_file))
    assert out.returncode == 0, out.stderr
    other = make_image(seed="meanwhile", user="1000")
    push_http(other, project.prod_a.url, "web", "latest")
    before = len(_writes(project))
    stale = promoter_cli("apply", str(plan_file), cwd=project.root)
    assert stale.returncode == 1, stale.stderr
    assert stale.stderr.startswith("error: the rollback plan is stale")
    assert f"{project.prod_a.host}/web:latest now names {other.digest}" in stale.stderr
    assert len(_writes(project)) == before
    assert _latest(project) == (other.digest, b.digest)


def _root_release_before_non_root(project: Project) -> tuple[Image, Image]:
    """2.0.0 runs as root, promoted before any policy; 2.0.1 is fine; then the pipeline
    enforces non-root, which 2.0.0 (the rollback's target) fails."""
    project.policies = ""
    project.write()
    a = release(project, "2.0.0", "r0", user="0")
    b = release(project, "2.0.1", "r1")
    project.policies = "  - rule: non-root\n"
    project.write()
    return a, b


def test_policies_are_checked_again_unless_skipped(logged_project: Project) -> None:
    project = logged_project
    a, b = _root_release_before_non_root(project)
    before = len(_writes(project))
    blocked = roll_back(project, "--tag", "latest", "--output", "json")
    assert blocked.returncode == 1, blocked.stderr
    document = json.loads(blocked.stdout)
    assert document["checks"]["web"]["ok"] is False
    assert document["promotion"]["images"][0]["status"] == "blocked"
    assert len(_writes(project)) == before
    assert _latest(project) == (b.digest, b.digest)
    skipped = roll_back(project, "--tag", "latest", "--skip-checks", "--output", "json")
    assert skipped.returncode == 0, skipped.stderr
    destination = json.loads(skipped.stdout)["promotion"]["images"][0]["destinations"][0]
    record = record_document(project.prod_a.url, destination["record"])
    assert record["skippedChecks"] is True
    assert _latest(project) == (a.digest, a.digest)


def test_on_github_a_rollback_writes_outputs_and_a_summary_as_a_promotion(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    from tests.ci.test_cli_on_ci import github_env
    from tests.support.actions_runner import parse_file_command
    from tests.support.cli import run_cli

    project = make_project(git_tag="")
    a = release(project, "2.0.0", "r0")
    release(project, "2.0.1", "r1")
    env = {**github_env(project, tmp_path), "PROMOTER_ROLLBACK_TAG": "latest"}
    env["PROMOTER_ROLLBACK_REASON"] = "from the workflow's input"
    done = run_cli(["rollback", "web", "-f", str(project.file)], env=env, cwd=project.root)
    assert done.returncode == 0, done.stdout + done.stderr
    outputs = parse_file_command((tmp_path / "output").read_text())
    assert outputs["result"] == "succeeded"
    assert json.loads(outputs["digests"]) == {"web": a.digest}
    assert json.loads(outputs["promoted-refs"]) == {
        "web": sorted(f"{r.host}/web@{a.digest}" for r in (project.prod_a, project.prod_b))
    }
    report = json.loads(Path(outputs["report"]).read_text())
    assert report["plan"]["rollback"]["reason"] == "from the workflow's input"
    summary = (tmp_path / "summary").read_text()
    assert "rolled-back" in summary and a.digest[:19] in summary
    assert _latest(project) == (a.digest, a.digest)


def test_apply_checks_a_rollback_plan_again_and_skips_only_when_told_twice(
    logged_project: Project, tmp_path: Path
) -> None:
    """A rollback plan's policy results and its skippedChecks are an editor's word: apply
    checks the target again, and skips only a plan made with --skip-checks when apply is
    given --skip-checks too."""
    project = logged_project
    a, b = _root_release_before_non_root(project)
    before = len(_writes(project))

    checked = tmp_path / "checked.json"
    made = roll_back(project, "--tag", "latest", "--out", str(checked))
    assert checked.exists(), made.stderr
    edited = json.loads(checked.read_text())
    image = edited["images"][0]
    assert [x["action"] for x in image["actions"]] == ["blocked", "blocked"]
    for action in image["actions"]:
        action["action"] = "tag"
    image["policy"] = {**(image.get("policy") or {}), "ok": True}
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(edited))
    refused = promoter_cli("apply", str(forged), cwd=project.root)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "the enforced policy non-root fails on" in refused.stderr
    assert f"{project.prod_a.host}/web@{a.digest}" in refused.stderr
    edited["rollback"]["skippedChecks"] = True
    forged.write_text(json.dumps(edited))
    claimed = promoter_cli("apply", str(forged), cwd=project.root)
    assert claimed.returncode == 1, claimed.stdout + claimed.stderr
    assert "made with --skip-checks; nothing was written" in claimed.stderr
    assert len(_writes(project)) == before
    assert _latest(project) == (b.digest, b.digest)

    skipping = tmp_path / "skipping.json"
    made = roll_back(project, "--tag", "latest", "--skip-checks", "--out", str(skipping))
    assert made.returncode == 0, made.stderr
    unsaid = promoter_cli("apply", str(skipping), cwd=project.root)
    assert unsaid.returncode == 1, unsaid.stdout + unsaid.stderr
    assert "apply it with --skip-checks" in unsaid.stderr
    promotion = promoter_cli("apply", str(checked), "--skip-checks", cwd=project.root)
    assert promotion.returncode == 2, promotion.stderr
    assert len(_writes(project)) == before

    applied = promoter_cli(
        "apply", str(skipping), "--skip-checks", "--output", "json", cwd=project.root
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    destination = json.loads(applied.stdout)["promotion"]["images"][0]["destinations"][0]
    assert record_document(project.prod_a.url, destination["record"])["skippedChecks"] is True
    assert _latest(project) == (a.digest, a.digest)
