"""The renderings of a check: text, JSON, SARIF 2.1.0 (validated against the official
schema) and Markdown."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from promoter.policy.declared import parse_policies
from promoter.policy.engine import evaluate
from promoter.policy.formats import render, sarif_document
from promoter.policy.results import CheckReport
from promoter.policy.rules import RuleContext, compile_rules
from tests.policy.factsdocs import DIGEST, facts_doc, platform_entry
from tests.policy.sarif_schema import sarif_errors

POLICY = """\
version: 1
policies:
  - rule: non-root
  - rule: max-size
    max: 1KiB
    mode: warn
  - rule: required-labels
    labels: {team: "web|ops"}
"""


def _report(tmp_path: Path) -> CheckReport:
    file = tmp_path / "pipeline.yml"
    file.write_text(POLICY)
    rules = compile_rules(parse_policies(POLICY, str(file)))
    facts = facts_doc(
        platform_entry("linux/amd64", user="root", labels={"team": "a|b"}),
        platform_entry("linux/arm64/v8", labels={"team": "web"}),
    )
    return evaluate(rules, facts, RuleContext(now=datetime(2026, 11, 28, tzinfo=timezone.utc)))


def test_text(tmp_path: Path) -> None:
    text = render(_report(tmp_path), "text")
    lines = text.splitlines()
    assert lines[0].endswith(f"@{DIGEST}")
    assert lines[1].startswith("FAIL non-root") and "[linux/amd64]" in lines[1]
    assert lines[1].endswith("pipeline.yml:3)")
    assert any(line.startswith("WARN max-size") and "pipeline.yml:4" in line for line in lines)
    assert lines[-1] == "REFUSED: 2 passed, 2 failed, 2 warnings"


def test_json(tmp_path: Path) -> None:
    """The JSON form is the report's own document (``promoter check -o json`` prints it)."""
    document = json.loads(json.dumps(_report(tmp_path).to_dict()))
    assert document["ok"] is False and document["digest"] == DIGEST
    assert document["summary"] == {"pass": 2, "fail": 2, "warn": 2}
    first = document["results"][0]
    assert first["rule"] == "non-root" and first["status"] == "fail"
    assert first["platform"] == "linux/amd64" and first["line"] == 3
    assert first["file"].endswith("pipeline.yml")


def test_sarif_validates_and_points_at_lines(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = _report(tmp_path)
    document = json.loads(render(report, "sarif"))
    assert sarif_errors(document) == []
    assert document == sarif_document(report)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["non-root", "max-size", "required-labels"]
    assert rules[1]["defaultConfiguration"]["level"] == "warning"
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("non-root", "error"),
        ("max-size", "warning"),
        ("max-size", "warning"),
        ("required-labels", "error"),
    ]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        # relative to the root (here the working directory: no git, no CI workspace)
        assert location["artifactLocation"] == {"uri": "pipeline.yml", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results] == [
        3,
        4,
        4,
        7,
    ]


def test_sarif_outside_the_working_directory_uses_file_uris(tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    document = sarif_document(_report(tmp_path))
    assert sarif_errors(document) == []
    uri = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"][
        "uri"
    ]
    assert uri.startswith("file:///") and uri.endswith("/pipeline.yml")


def test_markdown(tmp_path: Path) -> None:
    markdown = render(_report(tmp_path), "markdown")
    lines = markdown.splitlines()
    assert lines[0] == "### Policy check ❌ refused"
    assert "2 passed, 2 failed, 2 warnings" in lines[2]
    rows = [line for line in lines if line.startswith("| ")][2:]
    assert len(rows) == 6
    assert rows[0].startswith("| ❌ fail | `non-root` | linux/amd64 |")
    assert all(row.count(" | ") == 4 for row in rows)  # pipes in messages are escaped
    assert "'a\\|b'" in rows[4] and "web\\|ops" in rows[4]
    assert "pipeline.yml:3" in rows[0]
