"""The rollback plan file and the rule matching of ``promoter rollback`` (no registry)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promoter.errors import InputError
from promoter.promote import ImagePlan, PromotionPlan, TagAction, load_plan
from promoter.promote.apply import record_document
from promoter.promote.plan import RollbackInfo
from promoter.promote.rollback import tag_matches

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("latest", "latest", True),
        ("latest", "latest2", False),
        ("{{version}}", "2.0.1", True),
        ("{{version}}", "2.0.1-rc.1", True),
        ("{{version}}", "nightly", False),
        ("{{major}}.{{minor}}", "2.0", True),
        ("{{major}}.{{minor}}", "2.0.1", False),
        ("v{{major}}", "v2", True),
        ("sha-{{sha}}", "sha-0123abc", True),
        ("sha-{{sha}}", "sha-xyz", False),
        ("{{branch}}", "main", True),
        ("nightly-{{date 'YYYYMMDD'}}", "nightly-20261206", True),
        ("nightly-{{date 'YYYYMMDD'}}", "nightly-", False),
    ],
)
def test_a_rules_tag_template_matches_tags_of_its_shape(
    pattern: str, tag: str, matches: bool
) -> None:
    assert tag_matches(pattern, tag) is matches


def _plan() -> PromotionPlan:
    image = ImagePlan("web", "127.0.0.1:5000/web", A, "rollback")
    image.actions = [
        TagAction("127.0.0.1:5001/web", "latest", "tag", B, True, "tag", "moves back", 12),
        TagAction("127.0.0.1:5002/web", "latest", "noop", A, True, "tag", "there", 12),
    ]
    return PromotionPlan(
        "pipeline.yml",
        "2026-12-06T00:00:00+00:00",
        [image],
        context={
            "sha": "0" * 40,
            "ref": "refs/heads/main",
            "event": "push",
            "commitDate": None,
            "baseRef": None,
            "pullRequestBaseRef": None,
            "eventDefaultBranch": None,
            "defaultBranch": "main",
            "time": "2026-12-06T00:00:00+00:00",
        },
        pipeline={"path": "pipeline.yml", "sha256": "sha256:" + "0" * 64},
        kind="rollback",
        rollback=RollbackInfo("latest", "previous", "bad release", skipped_checks=True),
    )


def test_a_rollback_plan_round_trips_through_the_plan_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    _plan().write(path)
    document = json.loads(path.read_text())
    assert document["kind"] == "rollback"
    assert document["rollback"] == {
        "tag": "latest",
        "to": "previous",
        "reason": "bad release",
        "skippedChecks": True,
    }
    loaded = load_plan(path)
    assert loaded.kind == "rollback" and loaded.rollback == _plan().rollback
    assert loaded.to_dict() == document


def test_a_plan_without_kind_is_a_promotion_and_a_bad_kind_is_refused(tmp_path: Path) -> None:
    document = _plan().to_dict()
    del document["kind"], document["rollback"]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    assert load_plan(path).kind == "promotion"
    for kind, rollback in (("rollback", None), ("promotion", {"tag": "latest"}), ("undo", None)):
        broken = {**document, "kind": kind}
        if rollback is not None:
            broken["rollback"] = rollback
        path.write_text(json.dumps(broken))
        with pytest.raises(InputError):
            load_plan(path)


def test_a_rollback_record_names_what_each_tag_named_before() -> None:
    plan = _plan()
    image = plan.images[0]
    record = record_document(image, plan, "127.0.0.1:5001/web", ["latest"], "now", "1.0")
    assert record["kind"] == "rollback"
    assert record["previous"] == [{"tag": "latest", "digest": B}]
    assert (record["reason"], record["skippedChecks"]) == ("bad release", True)
    promotion = PromotionPlan("pipeline.yml", "now", [image])
    again = record_document(image, promotion, "127.0.0.1:5001/web", ["latest"], "now", "1.0")
    assert again["kind"] == "promotion" and "reason" not in again
