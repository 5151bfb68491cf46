"""``promoter tags``: a real pipeline file in a real git repository, run as a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.env import clean_env
from tests.support.git import git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the git command is missing")

PIPELINE = """\
version: 1
registries:
  staging:
    host: 127.0.0.1:5000
    insecure: true
images:
  web:
    build:
      context: app
    tags:
      - type=ref,event=branch
      - type=ref,event=pr
      - type=semver,pattern={{version}}
      - type=semver,pattern={{major}}.{{minor}}
      - type=sha
    flavor: [latest=auto]
    labels:
      - org.opencontainers.image.title=web
      - org.opencontainers.image.vendor=Example
    staging: staging/team/web
  worker:
    build:
      context: app
    tags: ["type=raw,value=worker-{{branch}}"]
    staging: staging/team/worker
"""


def promoter(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(["tags", *args], cwd=cwd, env=env or clean_env(), timeout=60)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    (root / "pipeline.yml").write_text(PIPELINE, encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "https://ci:hunter2@git.example.com/team/web.git")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


def test_json_on_a_tagged_commit(project: Path) -> None:
    git(project, "tag", "v1.4.0")
    sha = git(project, "rev-parse", "HEAD")
    done = promoter(project, "--output", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["context"]["source"] == "git"
    assert document["context"]["tag"] == "v1.4.0"
    web, worker = document["images"]
    assert web["tags"] == [
        "127.0.0.1:5000/team/web:1.4.0",
        "127.0.0.1:5000/team/web:1.4",
        f"127.0.0.1:5000/team/web:sha-{sha[:7]}",
        "127.0.0.1:5000/team/web:latest",
    ]
    assert web["version"] == "1.4.0" and web["latest"] is True
    assert web["labels"]["org.opencontainers.image.revision"] == sha
    assert web["labels"]["org.opencontainers.image.source"] == "https://git.example.com/team/web"
    assert web["labels"]["org.opencontainers.image.vendor"] == "Example"
    assert web["annotations"][0].startswith("manifest:")
    assert worker["tags"] == ["127.0.0.1:5000/team/worker:worker-"]
    assert "hunter2" not in done.stdout + done.stderr


def test_text_for_one_image_on_a_dirty_branch(project: Path) -> None:
    git(project, "checkout", "-q", "-b", "feature/x")
    (project / "app" / "extra.txt").write_text("x", encoding="utf-8")
    done = promoter(project, "--image", "worker")
    assert done.returncode == 0, done.stderr
    assert "worker  (staging 127.0.0.1:5000/team/worker)" in done.stdout
    assert "127.0.0.1:5000/team/worker:worker-feature-x" in done.stdout
    assert "web  (staging" not in done.stdout
    assert "dirty" in done.stdout
    assert "warning: uncommitted changes" in done.stderr


def test_github_actions_variables_win(project: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "number": 9,
                "pull_request": {"base": {"ref": "main"}, "head": {"sha": "f" * 40}},
                "repository": {
                    "name": "web",
                    "html_url": "https://github.com/team/web",
                    "description": "The web app",
                    "license": {"spdx_id": "Apache-2.0"},
                    "default_branch": "main",
                },
            }
        ),
        encoding="utf-8",
    )
    env = clean_env(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_REF="refs/pull/9/merge",
        GITHUB_SHA="e" * 40,
        GITHUB_EVENT_PATH=str(event),
        GITHUB_REPOSITORY="team/web",
    )
    done = promoter(project, "-o", "json", "--image", "web", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["context"]["source"] == "github-actions"
    (web,) = document["images"]
    assert web["tags"] == ["127.0.0.1:5000/team/web:pr-9", "127.0.0.1:5000/team/web:sha-eeeeeee"]
    assert web["labels"]["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert web["labels"]["org.opencontainers.image.description"] == "The web app"


def test_azure_devops_variables(project: Path) -> None:
    env = clean_env(
        TF_BUILD="True",
        BUILD_REASON="IndividualCI",
        BUILD_SOURCEBRANCH="refs/tags/v2.0.1",
        BUILD_SOURCEVERSION="d" * 40,
        BUILD_REPOSITORY_URI="https://org@dev.azure.com/org/proj/_git/web",
        BUILD_SOURCESDIRECTORY=str(project),
        DOCKER_METADATA_SHORT_SHA_LENGTH="10",
    )
    done = promoter(project, "-o", "json", "--image", "web", env=env)
    assert done.returncode == 0, done.stderr
    (web,) = json.loads(done.stdout)["images"]
    assert web["tagNames"] == ["2.0.1", "2.0", "sha-dddddddddd", "latest"]
    assert (
        web["labels"]["org.opencontainers.image.source"]
        == "https://dev.azure.com/org/proj/_git/web"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--image", "nope"), "no image named 'nope'"),
        (("-f", "missing.yml"), "missing.yml"),
    ],
)
def test_bad_input_exits_2(project: Path, args: tuple[str, ...], message: str) -> None:
    done = promoter(project, *args)
    assert done.returncode == 2
    assert message in done.stderr.splitlines()[0]
    assert "Traceback" not in done.stderr


def test_outside_a_git_repository(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    (tmp_path / "pipeline.yml").write_text(PIPELINE, encoding="utf-8")
    done = promoter(tmp_path)
    assert done.returncode == 2
    assert "is not inside a git repository" in done.stderr.splitlines()[0]


def test_bad_rule_in_the_file_exits_2(project: Path) -> None:
    text = PIPELINE.replace("type=sha\n", "type=raw,value=x,enable=maybe\n")
    (project / "pipeline.yml").write_text(text, encoding="utf-8")
    done = promoter(project)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
