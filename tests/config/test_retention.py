"""``retention:`` at the top level and under an image: loaded typed, checked, overridden key by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.config import load_pipeline
from promoter.config.model import Retention
from tests.config.cli_runner import run_in_process

# Lines 1-3.
HEAD = """\
version: 1
registries:
  staging: {host: 127.0.0.1:5000, insecure: true}
"""
# Lines 4-12.
IMAGES = """\
images:
  web:
    build: {context: app}
    staging: staging/web
    retention: {keep_last: 5}
  api:
    build: {context: app}
    staging: staging/api
  worker: {build: {context: app}, staging: staging/worker, retention: {keep_tags: []}}
"""
# Lines 13-16.
RETENTION = """\
retention:
  keep_last: 20
  keep_newer_than: 30d
  keep_tags: ["main", "v*"]
"""


def test_top_level_and_image_retention_load_typed(project: Path) -> None:
    (project / "pipeline.yml").write_text(HEAD + IMAGES + RETENTION)
    pipeline = load_pipeline(project / "pipeline.yml")
    assert pipeline.retention == Retention(20, 30 * 86400, ("main", "v*"), line=13, column=1)
    web, api, worker = (pipeline.image(name) for name in ("web", "api", "worker"))
    # An image's keys override the top level's one by one; the rest come from the top.
    assert pipeline.retention_of(web) == Retention(5, 30 * 86400, ("main", "v*"), 8, 5)
    assert pipeline.retention_of(api) == pipeline.retention
    assert pipeline.retention_of(worker) is not None
    assert pipeline.retention_of(worker).keep_tags == ()  # type: ignore[union-attr]
    assert pipeline.retention_of(web).settings() == {  # type: ignore[union-attr]
        "keepLast": 5,
        "keepNewerThan": 2592000,
        "keepTags": ["main", "v*"],
    }


def test_without_retention_nothing_is_pruned(project: Path) -> None:
    (project / "pipeline.yml").write_text(HEAD + IMAGES.replace("retention: {keep_last: 5}", ""))
    pipeline = load_pipeline(project / "pipeline.yml")
    assert pipeline.retention is None
    assert pipeline.retention_of(pipeline.image("api")) is None


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        (
            RETENTION.replace("keep_last: 20", "keep_last: -1"),
            "14:14: retention.keep_last",
            "keep_last is a whole number",
        ),
        (
            RETENTION.replace("keep_last: 20", "keep_last: 2.5"),
            "14:14: retention.keep_last",
            "expected an integer",
        ),
        (
            RETENTION.replace("30d", "30 days"),
            "15:20: retention.keep_newer_than",
            "unknown duration unit 'days'",
        ),
        (RETENTION.replace('"v*"', '"v[0-9"'), "16:23: retention.keep_tags[1]", "unclosed '['"),
        (
            RETENTION.replace("keep_last", "keep_latest"),
            "14:3: retention.keep_latest",
            "unknown key 'keep_latest'",
        ),
        ("retention: {}\n", "13:12: retention", "must not be empty"),
    ],
    ids=["negative", "float", "duration", "glob", "unknown-key", "empty"],
)
def test_broken_retention_names_the_line(project: Path, text: str, where: str, says: str) -> None:
    (project / "pipeline.yml").write_text(HEAD + IMAGES + text)
    outcome = run_in_process(["validate", "-f", "pipeline.yml"])
    assert outcome.code == 2, outcome
    assert outcome.first_error_line.startswith(f"error: pipeline.yml:{where}: "), outcome
    assert says in outcome.first_error_line


def test_an_image_retention_is_checked_too(project: Path) -> None:
    (project / "pipeline.yml").write_text(
        HEAD + IMAGES.replace("keep_last: 5", "keep_newer_than: soon")
    )
    outcome = run_in_process(["validate", "-f", "pipeline.yml"])
    assert outcome.code == 2
    assert outcome.first_error_line.startswith(
        "error: pipeline.yml:8:34: images.web.retention.keep_newer_than: "
    ), outcome
