"""A build argument with a secret-looking name written as a literal in pipeline.yml: a
warning at its line on ``validate`` (text on stderr, a ``warnings`` list in JSON; exit 0),
and on ``plan``; an ``{env: VARIABLE}`` argument and ordinary names give none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promoter.config import load_pipeline
from promoter.config.secretargs import secret_arg_name
from tests.config.cli_runner import run_in_process, run_subprocess
from tests.support.registry import Registry
from tests.tagging.test_git_context import commit, git

PIPELINE = """\
version: 1
registries:
  staging:
    host: {host}
    insecure: true
images:
  web:
    build:
      context: app
      args:
        VERSION: "1.0"
        NPM_TOKEN: "abc123-literal"
        API_KEY: {{env: API_KEY}}
        MONKEY: banana
        dbPassword: 42
    staging: staging/web
"""
WARNING = (
    "pipeline.yml:{line}:9: images.web.build.args.{name}: warning: a literal secret in the"
    " pipeline file; take it from the environment with {{env: {variable}}}"
)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("NPM_TOKEN", True),
        ("npm_token", True),
        ("API_KEY", True),
        ("api-key", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("DB_PASSWORD", True),
        ("dbPassword", True),
        ("registry.passwd", True),
        ("MYSQL_PWD", True),
        ("GITHUB_TOKEN", True),
        ("MONKEY", False),
        ("KEYBOARD_LAYOUT", False),
        ("TOKENIZER_VERSION", False),
        ("PASSWORDLESS", False),
        ("SSH_KEY_FILE", False),
        ("AWS_ACCESS_KEY_ID", False),
        ("TOKEN_URL", False),
        ("VERSION", False),
    ],
)
def test_secret_names_are_told_by_their_word_parts(name: str, secret: bool) -> None:
    assert secret_arg_name(name) is secret


def _write(project: Path, host: str = "127.0.0.1:5999") -> None:
    (project / "pipeline.yml").write_text(PIPELINE.format(host=host))


def _line(project: Path, needle: str) -> int:
    text = (project / "pipeline.yml").read_text().splitlines()
    return next(n for n, line in enumerate(text, 1) if needle in line)


def test_validate_warns_at_the_line_and_exits_0(project: Path) -> None:
    _write(project)
    done = run_subprocess(["validate"], cwd=project)
    assert done.code == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if ": warning: " in line]
    assert warnings == [
        WARNING.format(line=_line(project, "NPM_TOKEN"), name="NPM_TOKEN", variable="NPM_TOKEN"),
        WARNING.format(line=_line(project, "dbPassword"), name="dbPassword", variable="dbPassword"),
    ]
    assert "abc123-literal" not in done.stderr + done.stdout
    assert done.stdout.startswith("pipeline.yml: valid (1 image(s)")


def test_validate_json_carries_a_warnings_list(project: Path) -> None:
    _write(project)
    done = run_in_process(["validate", "--output", "json"])
    assert done.code == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["ok"] is True
    assert document["warnings"] == [
        {
            "file": "pipeline.yml",
            "line": _line(project, "NPM_TOKEN"),
            "column": 9,
            "path": "images.web.build.args.NPM_TOKEN",
            "message": "a literal secret in the pipeline file; take it from the environment "
            "with {env: NPM_TOKEN}",
        },
        {
            "file": "pipeline.yml",
            "line": _line(project, "dbPassword"),
            "column": 9,
            "path": "images.web.build.args.dbPassword",
            "message": "a literal secret in the pipeline file; take it from the environment "
            "with {env: dbPassword}",
        },
    ]


def test_a_pipeline_without_literal_secrets_has_no_warnings(project: Path) -> None:
    text = PIPELINE.format(host="127.0.0.1:5999")
    text = text.replace('"abc123-literal"', "{env: NPM_TOKEN}").replace("42", "{env: DB_PW}")
    (project / "pipeline.yml").write_text(text)
    assert load_pipeline("pipeline.yml").warnings == ()
    done = run_in_process(["validate", "--output", "json"])
    assert done.code == 0 and json.loads(done.stdout)["warnings"] == []
    assert "warning" not in done.stderr


@pytest.mark.registry
def test_plan_shows_the_warning_on_stderr(project: Path, registry: Registry) -> None:
    _write(project, registry.host)
    git(project, "init", "-q", "-b", "main")
    commit(project, "README")
    done = run_subprocess(["plan", "--output", "json"], cwd=project)
    assert done.code == 0, done.stderr
    line = _line(project, "NPM_TOKEN")
    expected = f"pipeline.yml:{line}:9: images.web.build.args.NPM_TOKEN: warning: a literal secret"
    assert any(expected in text for text in done.stderr.splitlines()), done.stderr
    document = json.loads(done.stdout)
    assert any(f"pipeline.yml:{line}:9: images.web.build" in n for n in document["notes"])
    assert "abc123-literal" not in done.stderr + done.stdout


def test_on_github_each_warning_is_an_annotation_at_its_line(project: Path) -> None:
    from tests.support.actions_runner import read_log_commands
    from tests.support.cli import run_cli
    from tests.support.untrusted import service_env

    _write(project)
    env = {**service_env("github", project), "GITHUB_WORKSPACE": str(project)}
    done = run_cli(["validate"], cwd=project, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    warnings = [c for c in read_log_commands(done.stderr) if c.name == "warning"]
    assert [(c.properties["file"], int(c.properties["line"])) for c in warnings] == [
        ("pipeline.yml", _line(project, "NPM_TOKEN")),
        ("pipeline.yml", _line(project, "dbPassword")),
    ]
    assert all("{env: " in c.message for c in warnings)
    assert "abc123-literal" not in done.stderr + done.stdout
