"""Every plan state on real registries, and a plan writes nothing anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.promote.project import Project, head_digest, promoter_cli
from tests.support.images import make_image, push_http

pytestmark = pytest.mark.registry

PROMOTE_ALL = """\
- to: [prod-a/{name}, prod-b/{name}]
  tags: ["{{version}}", latest]
  when: tag
  mutable: [latest]
- to: [prod-a/{name}]
  tags: [edge]
  when: branch:main
- to: [prod-b/{name}]
  tags: ["nightly-{{sha}}"]
  when: always
"""


def _actions(document: dict, image: str) -> dict[tuple[str, str], str]:
    plan = next(i for i in document["plan"]["images"] if i["image"] == image)
    return {(a["destination"].split("/", 1)[0], a["tag"]): a["action"] for a in plan["actions"]}


def _state(project: Project) -> tuple[int, int]:
    return project.prod_a.blob_count(), project.prod_b.blob_count()


def test_every_plan_state_is_reached(make_project: Callable[..., Project], tmp_path: Path) -> None:
    project = make_project(images=("web", "api", "bad"), promote=PROMOTE_ALL)
    a, b = project.prod_a, project.prod_b
    web = project.seed("web", seed="web")
    api = project.seed("api", seed="api")
    project.seed("bad", seed="bad", user="root")
    other = make_image(seed="someone-else", user="1000")
    # web: prod-a already has 1.2.3 at the digest -> noop; latest -> tag (content present)
    push_http(web, a.url, "web", "1.2.3")
    # api: prod-a has an immutable 1.2.3 at another digest -> conflict;
    # prod-b has api's content, and latest (mutable) elsewhere -> tag, not conflict
    push_http(other, a.url, "api", "1.2.3")
    push_http(api, b.url, "api")
    push_http(other, b.url, "api", "latest")
    before = _state(project)

    out = tmp_path / "plan.json"
    result = promoter_cli("plan", "-f", str(project.file), "--output", "json", "--out", str(out))
    # A plan with a conflict and a blocked image previews a refused run: exit 1.
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: the run would be refused: 1 tag conflict(s), 5 tag(s) blocked by policy"
    )
    document = json.loads(result.stdout)
    assert document["exitCode"] == 1 and document["dryRun"] is True

    sha = document["context"]["sha"]
    nightly = f"nightly-{sha[:7]}"  # {{sha}} is the short commit, as metadata-action
    ha, hb = a.host, b.host
    assert _actions(document, "web") == {
        (ha, "1.2.3"): "noop",
        (ha, "latest"): "tag",
        (hb, "1.2.3"): "copy",
        (hb, "latest"): "copy",
        (ha, "edge"): "skipped",
        (hb, nightly): "copy",
    }
    assert _actions(document, "api") == {
        (ha, "1.2.3"): "conflict",
        (ha, "latest"): "copy",
        (hb, "1.2.3"): "tag",
        (hb, "latest"): "tag",
        (ha, "edge"): "skipped",
        (hb, nightly): "tag",
    }
    bad = _actions(document, "bad")
    assert set(bad.values()) == {"blocked", "skipped"}
    assert bad[(hb, "1.2.3")] == "blocked"
    # the check ran on the staging digest of what had something to promote
    bad_plan = next(i for i in document["plan"]["images"] if i["image"] == "bad")
    assert bad_plan["policy"]["ok"] is False
    assert document["checks"]["web"]["ok"] is True
    assert document["plan"]["images"][0]["digestFrom"] == "staging-tag"
    # --out wrote the same plan; nothing was written to any registry
    assert json.loads(out.read_text())["images"] == document["plan"]["images"]
    assert _state(project) == before
    assert head_digest(b, "web", "1.2.3") is None
    assert head_digest(a, "api", "latest") is None
    assert head_digest(b, "api", "latest") == other.digest


def test_plan_text_table_and_unknown_digest(make_project: Callable[..., Project]) -> None:
    project = make_project()
    result = promoter_cli("plan", "-f", str(project.file))
    assert result.returncode == 0, result.stderr
    assert "digests still unknown: web" in result.stdout
    assert "source digest unknown" in result.stdout
    project.seed()
    result = promoter_cli("run", "--dry-run", "-f", str(project.file))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(
        line.split()[:3] == ["copy", f"{project.prod_b.host}/web", "1.2.3"] for line in lines
    )
    assert any(
        line.split()[:3] == ["skipped", f"{project.prod_a.host}/web", "edge"] for line in lines
    )
    assert "plan: copy 4, tag 0, noop 0, conflict 0, blocked 0, skipped 1" in result.stdout
    assert head_digest(project.prod_a, "web", "1.2.3") is None


def test_branch_rule_applies_on_its_branch(make_project: Callable[..., Project]) -> None:
    project = make_project(git_tag="")  # a push to main, no tag
    project.seed(tag="main")
    project.write()
    result = promoter_cli("plan", "-f", str(project.file), "--output", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    actions = _actions(document, "web")
    assert actions[(project.prod_a.host, "edge")] == "copy"
    assert {v for k, v in actions.items() if k[1] != "edge"} == {"skipped"}
