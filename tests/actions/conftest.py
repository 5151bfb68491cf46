"""Fixtures for the GitHub Action's tests: one runner stand-in per session, one install;
and for the Azure DevOps task's: a project behind a password, its agent environment.

``action_runner`` runs ``actions/github`` as the runner does, with a
``RUNNER_TEMP`` shared by the whole session, so the first use installs
promoter (pip, from the action's own checkout) and every later use reuses that
environment, as a second use in one job does. ``first_use`` is that first use.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.promote.conftest import make_project
from tests.promote.project import Project
from tests.support.actions_runner import ActionResult, CompositeRunner
from tests.support.azure_agent import Endpoint, agent_env, python_recorder
from tests.support.registry import Registry
from tests.support.tls import write_htpasswd

__all__ = ["make_project"]  # the promotion project fixture, shared

ROOT = Path(__file__).resolve().parents[2]
ACTION_DIR = ROOT / "actions" / "github"

_DROPPED = ("GITHUB_", "RUNNER_", "PROMOTER_", "DOCKER_", "BUILD_", "SYSTEM_", "AGENT_", "INPUT_")


def base_python() -> str:
    """What setup-python stands in with: the interpreter under the test's virtualenv."""
    return str(getattr(sys, "_base_executable", "") or sys.executable)


def job_environment(root: Path) -> dict[str, str]:
    """A runner's environment: this machine's, less any CI, registry or Docker settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_DROPPED) and k not in ("CI", "TF_BUILD", "SSL_CERT_FILE")
    }
    env["DOCKER_CONFIG"] = str(root / "no-docker-config")
    return env


def github_tag_event(project: Project, tag: str = "v1.2.3") -> dict[str, str]:
    """What the runner sets for a pushed tag at the project's HEAD."""
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project.root, capture_output=True, text=True, check=True
    ).stdout.strip()
    return {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": f"refs/tags/{tag}",
        "GITHUB_REF_NAME": tag,
        "GITHUB_REF_TYPE": "tag",
        "GITHUB_SHA": sha,
        "GITHUB_REPOSITORY": "acme-platform/web",
        "GITHUB_SERVER_URL": "https://github.example.invalid",
        "GITHUB_RUN_ID": "42",
    }


@pytest.fixture(scope="session")
def action_runner(tmp_path_factory: pytest.TempPathFactory) -> CompositeRunner:
    """The runner stand-in for ``actions/github``, one ``RUNNER_TEMP`` for the session."""
    root = tmp_path_factory.mktemp("runner")
    (root / "no-docker-config").mkdir()
    (root / "workspace").mkdir()
    (root / "temp").mkdir()
    return CompositeRunner(
        ACTION_DIR,
        workspace=root / "workspace",
        runner_temp=root / "temp",
        base_env=job_environment(root),
        python=base_python(),
    )


@pytest.fixture(scope="session")
def first_use(action_runner: CompositeRunner) -> ActionResult:
    """The session's first use of the action: it makes promoter's environment."""
    result = action_runner.run({"command": "copy", "args": "--help"})
    assert result.exit_code == 0, result.log.decode(errors="replace")[-4000:]
    return result


@pytest.fixture
def runner(action_runner: CompositeRunner, first_use: ActionResult) -> CompositeRunner:
    """The session's runner, promoter installed."""
    return action_runner


@pytest.fixture
def auth_project(registry_factory: Callable[..., Registry], tmp_path: Path) -> Project:
    """The promotion project with its production registry ``prod-a`` behind htpasswd."""
    password = "azdo-" + secrets.token_hex(12)
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"alice": password})
    staging, prod_a, prod_b = (
        registry_factory(),
        registry_factory(htpasswd=htpasswd),
        registry_factory(),
    )
    project = Project(
        tmp_path / "project",
        staging,
        prod_a,
        prod_b,
        promote='- to: [prod-a/{name}]\n  tags: ["{{version}}", latest]\n  when: tag\n'
        "  mutable: [latest]\n",
    )
    project.password = password  # type: ignore[attr-defined]
    return project


def azure_project_env(project: Project, tmp_path: Path, inputs: dict[str, str]) -> dict[str, str]:
    """The agent's environment for the task on ``project`` at tag v1.2.3: prod-a's login as a
    service connection, a recording ``pythonPath`` (``tmp_path/calls.jsonl``) over the real one."""
    endpoint = Endpoint(
        id="11111111-2222-3333-4444-555555555555",
        scheme="UsernamePassword",
        url=project.prod_a.url,
        parameters={
            "username": "alice",
            "password": project.password,  # type: ignore[attr-defined]
            "registry": project.prod_a.url,
        },
    )
    python = python_recorder(tmp_path / "python-recorder", tmp_path / "calls.jsonl")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project.root, capture_output=True, text=True, check=True
    ).stdout.strip()
    return agent_env(
        tmp_path / "agent",
        project.root,
        {"pythonPath": str(python), **inputs},
        endpoint=endpoint,
        extra={
            "BUILD_SOURCEBRANCH": "refs/tags/v1.2.3",
            "BUILD_SOURCEBRANCHNAME": "v1.2.3",
            "BUILD_SOURCEVERSION": head,
        },
    )
