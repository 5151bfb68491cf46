"""The pure parts of planning: classification, ``when``, the plan file round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promoter.config import When
from promoter.errors import InputError
from promoter.promote import (
    ImagePlan,
    PromotionPlan,
    TagAction,
    block,
    classify,
    load_plan,
    when_applies,
)

D = "sha256:" + "a" * 64
E = "sha256:" + "b" * 64
#: What a plan records of its pipeline file and git context (``apply`` checks them).
BOUND = {
    "pipeline": {"path": "p.yml", "sha256": "sha256:" + "f" * 64},
    "context": {
        "sha": "c" * 40,
        "ref": "refs/tags/v1.2.3",
        "event": "push",
        "commitDate": None,
        "baseRef": None,
        "pullRequestBaseRef": None,
        "eventDefaultBranch": None,
        "defaultBranch": "main",
        "time": "2026-01-01T00:00:00+00:00",
    },
}


@pytest.mark.parametrize(
    ("digest", "current", "mutable", "present", "action"),
    [
        (D, D, False, True, "noop"),
        (D, D, True, True, "noop"),
        (D, E, False, True, "conflict"),
        (D, E, False, False, "conflict"),
        (D, E, True, True, "tag"),  # a mutable tag moves
        (D, E, True, False, "copy"),
        (D, None, False, True, "tag"),
        (D, None, False, False, "copy"),
        (None, E, False, False, "copy"),  # digest unknown: decided once built
        (None, None, True, False, "copy"),
    ],
)
def test_classify(
    digest: str | None, current: str | None, mutable: bool, present: bool, action: str
) -> None:
    assert classify(digest, current, mutable, present) == action


@pytest.mark.parametrize(
    ("when", "branch", "tag", "applies"),
    [
        (When("always"), "", "", True),
        (When("tag"), "", "v1.0.0", True),
        (When("tag"), "main", "", False),
        (When("branch", "main"), "main", "", True),
        (When("branch", "release/*"), "release/1.2", "", True),
        (When("branch", "release/*"), "main", "", False),
        (When("branch", "main"), "", "v1.0.0", False),
    ],
)
def test_when(when: When, branch: str, tag: str, applies: bool) -> None:
    assert when_applies(when, branch=branch, tag=tag) is applies


def _plan() -> PromotionPlan:
    image = ImagePlan(
        "web",
        "127.0.0.1:5000/web",
        D,
        "staging-tag",
        "1.2.3",
        {"ok": True, "digest": D, "results": []},
        [
            TagAction("127.0.0.1:5001/web", "1.2.3", "copy", None, False, "tag", "x", 12),
            TagAction("127.0.0.1:5001/web", "latest", "tag", E, True, "tag", "y", 12),
            TagAction("127.0.0.1:5001/web", "edge", "skipped", None, False, "branch:main"),
        ],
    )
    return PromotionPlan(
        "pipeline.yml",
        "2026-01-01T00:00:00+00:00",
        [image],
        {"127.0.0.1:5000": {"alias": "staging", "insecure": True, "auth": "docker-config"}},
        {**BOUND["context"], "runUrl": None},
        {"path": "pipeline.yml", "sha256": "sha256:" + "f" * 64},
    )


def test_plan_file_round_trip(tmp_path: Path) -> None:
    plan = _plan()
    plan.write(tmp_path / "plan.json")
    loaded = load_plan(tmp_path / "plan.json")
    assert loaded.to_dict() == plan.to_dict()
    assert loaded.summary() == {
        "copy": 1,
        "tag": 1,
        "noop": 0,
        "conflict": 0,
        "blocked": 0,
        "skipped": 1,
    }
    assert "secret" not in (tmp_path / "plan.json").read_text().lower()


def test_block_turns_only_writes_into_blocked() -> None:
    plan = _plan()
    block(plan.images[0].actions, "policy failed")
    assert [a.action for a in plan.images[0].actions] == ["blocked", "blocked", "skipped"]
    assert plan.images[0].writes == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"format": "other"}', "not a promoter plan"),
        (
            json.dumps(
                {"format": "promoter.plan/v1", "file": "p.yml", **BOUND, "images": [{"image": "x"}]}
            ),
            "images[0]: missing required key 'source'",
        ),
        (
            json.dumps(
                {
                    "format": "promoter.plan/v1",
                    "file": "p.yml",
                    **BOUND,
                    "images": [
                        {
                            "image": "x",
                            "source": "h/x",
                            "digest": None,
                            "actions": [{"destination": "h/y", "tag": "t", "action": "nuke"}],
                        }
                    ],
                }
            ),
            "images[0].actions[0].action: invalid value 'nuke'",
        ),
        (
            json.dumps({"format": "promoter.plan/v1", "file": "p.yml", "images": []}),
            "the plan names no pipeline file digest (made by an older promoter)",
        ),
    ],
)
def test_bad_plan_files_are_bad_input(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_plan(path)
    assert message in caught.value.message
    assert caught.value.message.startswith(str(path))
