"""Every docker/metadata-action peer case must pass: meta, JSON, sep-tags, rule and flavor parsing.

The cases live beside the repository in ``../shared/peer-cases/metadata-action``
(see its README). Upstream freezes the clock at 2020-01-10T00:30:00.000Z and
mocks moment(), so *every* date, the commit date included, is that instant
(case push17 proves it: its payload's commit is dated 2022-04-19, yet it expects
``mytag-cd-20200110``); the repository facts are the mocked ``repo.json``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from promoter.errors import InputError
from promoter.structs import replace
from promoter.tagging import (
    GitContext,
    TagInputs,
    compute_metadata,
    github_context,
    github_repository,
    parse_flavor,
    parse_rule,
    parse_rules,
)
from tests.support.real_parts import require

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "peer-cases" / "metadata-action"
FROZEN = datetime(2020, 1, 10, 0, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _peer_cases() -> None:
    """The cases live in ../shared beside the clone: skipped without them, failed in CI."""
    require(None if CASES.is_dir() else f"metadata-action peer cases not found at {CASES}")


def _load(name: str) -> Any:
    if not CASES.is_dir():
        return {}
    return json.loads((CASES / "expected" / name).read_text(encoding="utf-8"))


def _meta_cases() -> list[Any]:
    data = _load("meta-cases.json")
    return [
        pytest.param(case, id=f"{suite}-{case['id']}")
        for suite, body in data.get("suites", {}).items()
        for case in body["cases"]
    ]


def test_the_peer_cases_are_here() -> None:
    """Without the case files every parametrized test below has no case at all."""
    assert len(_meta_cases()) >= 100, f"expected metadata-action's cases in {CASES}"


def _dotenv(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = value.strip()
    return env


def _context(env_file: str, extra_env: dict[str, str]) -> GitContext:
    env = _dotenv(CASES / env_file)
    env.update(extra_env)
    if env.get("GITHUB_EVENT_PATH"):
        env["GITHUB_EVENT_PATH"] = str(CASES / "fixtures" / Path(env["GITHUB_EVENT_PATH"]).name)
    # Upstream mocks moment(): the commit date reads as the frozen clock too.
    return replace(github_context(env), commit_date=FROZEN)


def _repository() -> Any:
    return github_repository(json.loads((CASES / "fixtures" / "repo.json").read_text("utf-8")))


def _inputs(raw: dict[str, Any]) -> TagInputs:
    return TagInputs(
        images=raw.get("images", []),
        tags=raw.get("tags", []),
        flavor=raw.get("flavor", []),
        labels=raw.get("labels", []),
        annotations=raw.get("annotations", []),
    )


@pytest.mark.parametrize("case", _meta_cases())
def test_meta_case(case: dict[str, Any]) -> None:
    meta = compute_metadata(
        _inputs(case["inputs"]),
        _context(case["env_file"], case["extra_env"]),
        _repository(),
        now=FROZEN,
    )
    expected = case["expected"]
    assert meta.version.to_dict() == expected["version"]
    assert meta.tags == expected["tags"]
    assert list(meta.labels) == expected["labels"]
    assert list(meta.annotations) == expected["annotations"]


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c["id"]) for c in _load("json-output-cases.json").get("cases", [])]
)
def test_json_output_case(case: dict[str, Any]) -> None:
    meta = compute_metadata(
        _inputs(case["inputs"]),
        _context(case["env_file"], case.get("extra_env") or {}),
        _repository(),
        now=FROZEN,
    )
    document = meta.to_json()
    assert document == case["expected_json"]
    assert list(document["labels"]) == list(case["expected_json"]["labels"])  # key order too


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c["id"]) for c in _load("sep-tags-cases.json").get("cases", [])]
)
def test_sep_tags_case(case: dict[str, Any]) -> None:
    meta = compute_metadata(
        _inputs(case["inputs"]), _context(case["env_file"], {}), _repository(), now=FROZEN
    )
    assert case["inputs"]["sepTags"].join(meta.tags) == case["expected_tags_string"]


def _rule_dict(rule: Any) -> dict[str, Any]:
    return {"type": rule.type, "attrs": dict(rule.attrs)}


_RULE_CASES = _load("tag-rule-parse-cases.json")


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=f"transform{i:02d}")
        for i, c in enumerate(_RULE_CASES.get("transform", {}).get("cases", []), 1)
    ],
)
def test_rule_transform_case(case: dict[str, Any]) -> None:
    assert [_rule_dict(rule) for rule in parse_rules(case["input"])] == case["expected"]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=f"parse{i:02d}-{c['input']}")
        for i, c in enumerate(_RULE_CASES.get("parse", {}).get("cases", []), 1)
    ],
)
def test_rule_parse_case(case: dict[str, Any]) -> None:
    if case["invalid"]:
        with pytest.raises(InputError):
            parse_rule(case["input"])
        return
    assert _rule_dict(parse_rule(case["input"])) == case["expected"]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=f"flavor{i:02d}")
        for i, c in enumerate(_load("flavor-parse-cases.json").get("cases", []), 1)
    ],
)
def test_flavor_parse_case(case: dict[str, Any]) -> None:
    if case["invalid"]:
        with pytest.raises(InputError):
            parse_flavor(case["input"])
        return
    assert parse_flavor(case["input"]).to_dict() == case["expected"]
