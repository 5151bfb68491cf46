"""Every shipped pipeline file validates, and says where its schema is for editors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from promoter.config.source import read_document
from tests.config.cli_runner import ROOT, run_subprocess

PIPELINES = sorted([ROOT / "pipeline.yml", *ROOT.glob("examples/*/pipeline.yml")])
SCHEMA_COMMENT = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def test_the_examples_exist() -> None:
    names = {path.parent.name for path in PIPELINES}
    assert {"quickstart", "acr", "multi-region"} <= names
    assert ROOT / "pipeline.yml" in PIPELINES


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[str(p.relative_to(ROOT)) for p in PIPELINES])
def test_validate_exits_zero(pipeline: Path) -> None:
    outcome = run_subprocess(["validate", "-f", str(pipeline), "--output", "json"], cwd=ROOT)
    assert outcome.code == 0, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["ok"] is True
    assert document["images"] >= 1 and document["registries"] >= 1 and document["policies"] >= 1


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[str(p.relative_to(ROOT)) for p in PIPELINES])
def test_schema_comment_points_at_the_shipped_schema(pipeline: Path) -> None:
    first = pipeline.read_text().splitlines()[0]
    match = SCHEMA_COMMENT.match(first)
    assert match, first
    target = (pipeline.parent / match.group(1)).resolve()
    assert target == (ROOT / "promoter" / "config" / "pipeline.schema.json").resolve()


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[str(p.relative_to(ROOT)) for p in PIPELINES])
def test_an_editor_with_only_the_schema_accepts_it(pipeline: Path) -> None:
    # What yaml-language-server does: plain JSON Schema validation, no promoter code.
    from jsonschema.validators import Draft202012Validator

    schema = json.loads((ROOT / "promoter" / "config" / "pipeline.schema.json").read_text())
    errors = list(Draft202012Validator(schema).iter_errors(read_document(pipeline).data))
    assert errors == []


def test_quickstart_uses_only_loopback_registries() -> None:
    from promoter.config import load_pipeline

    pipeline = load_pipeline(ROOT / "examples" / "quickstart" / "pipeline.yml")
    assert all(r.host.startswith("127.0.0.1:") and r.insecure for r in pipeline.registries.values())
    dockerfile = pipeline.image("hello").build.dockerfile.read_text()
    assert "FROM scratch" in dockerfile


def test_root_dockerfile_builds_promoter_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.12-slim", text, re.MULTILINE)
    assert re.search(r"^USER (?!root|0\b)\S+", text, re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text()
    assert "!promoter/" in ignored
