"""The shipped JSON Schema: valid draft 2020-12, printed by `promoter schema`, and complete."""

from __future__ import annotations

import json
from pathlib import Path

from promoter.config import Pipeline, load_pipeline, schema_text
from promoter.config.model import BuildConfig, PolicyRuleConfig, PromoteRule
from tests.config.cli_runner import ROOT, run_subprocess

SCHEMA_FILE = ROOT / "promoter" / "config" / "pipeline.schema.json"


def test_schema_is_valid_draft_2020_12() -> None:
    from jsonschema.validators import Draft202012Validator

    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_promoter_schema_prints_the_shipped_file() -> None:
    outcome = run_subprocess(["schema"])
    assert outcome.code == 0
    assert outcome.stdout == SCHEMA_FILE.read_text()
    assert json.loads(outcome.stdout)["title"] == "promoter pipeline.yml"
    assert schema_text() == SCHEMA_FILE.read_text()


def test_every_policy_rule_has_its_own_options() -> None:
    policy = json.loads(SCHEMA_FILE.read_text())["$defs"]["policy"]
    names = policy["properties"]["rule"]["enum"]
    branches = [branch["if"]["properties"]["rule"]["const"] for branch in policy["allOf"]]
    assert sorted(names) == sorted(branches)
    assert len(names) == 13
    for branch in policy["allOf"]:
        assert branch["then"]["additionalProperties"] is False


def test_unknown_keys_are_refused_everywhere() -> None:
    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("type") == "object":
                # Closed itself, or closed by each of its per-kind if/then branches.
                branches = [branch["then"] for branch in node.get("allOf", [])]
                closed = node.get("additionalProperties") is False or isinstance(
                    node.get("additionalProperties"), dict
                )
                assert closed or (
                    branches and all(b["additionalProperties"] is False for b in branches)
                ), where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(json.loads(SCHEMA_FILE.read_text()), "#")


def _minimal(project: Path) -> Pipeline:
    (project / "Dockerfile").write_text("FROM scratch\n")
    (project / "pipeline.yml").write_text(
        "version: 1\nregistries: {s: {host: r.example}, p: {host: q.example}}\n"
        "images:\n  a:\n    build: {}\n    staging: s/a\n"
        "    promote:\n      - to: [p/a]\npolicies:\n  - rule: non-root\n"
    )
    return load_pipeline(project / "pipeline.yml")


def test_schema_defaults_are_the_model_defaults(project: Path) -> None:
    defs = json.loads(SCHEMA_FILE.read_text())["$defs"]
    pipeline = _minimal(project)
    registry = pipeline.registries["s"]
    image = pipeline.image("a")
    assert registry.insecure is defs["registry"]["properties"]["insecure"]["default"]
    assert registry.auth.kind == defs["auth"]["default"]
    build: BuildConfig = image.build
    assert build.reproducible is defs["build"]["properties"]["reproducible"]["default"]
    assert build.push == defs["build"]["properties"]["push"]["default"]
    assert build.context == (project / defs["build"]["properties"]["context"]["default"]).resolve()
    assert build.dockerfile.name == defs["build"]["properties"]["dockerfile"]["default"]
    rule: PromoteRule = image.promote[0]
    assert str(rule.when) == defs["promote"]["properties"]["when"]["default"]
    policy: PolicyRuleConfig = pipeline.policies[0]
    assert policy.mode == defs["mode"]["default"]
    assert policy.enforced
