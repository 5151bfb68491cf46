"""The CLI on GitHub Actions and Azure DevOps, against real registries.

Each test runs ``python -m promoter`` as a step would, with the service's
environment (files for outputs and summary, a temp folder, the git context
variables), then reads back every output, the summary, the annotations with
their file and line, and the step's result.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.promote.project import Project
from tests.support.actions_runner import parse_file_command, parse_workflow_command
from tests.support.azure_agent import parse_vso
from tests.support.cli import run_cli
from tests.support.env import CLEAN_ENV
from tests.support.git import git
from tests.support.images import make_image, push_http
from tests.support.registry import Registry
from tests.support.tls import HTPASSWD_PASSWORD, HTPASSWD_USER, TlsFiles, make_tls, write_htpasswd

pytestmark = pytest.mark.registry


def head_commit(project: Project) -> str:
    """The commit the project's checkout is at."""
    return git(project.root, "rev-parse", "HEAD")


def github_env(project: Project, tmp: Path) -> dict[str, str]:
    """A GitHub runner's step environment for a pushed tag v1.2.3 of ``project``."""
    sha = head_commit(project)
    for name in ("output", "summary"):
        (tmp / name).write_text("")
    (tmp / "runner-temp").mkdir(exist_ok=True)
    return {
        **CLEAN_ENV,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/tags/v1.2.3",
        "GITHUB_SHA": sha,
        "GITHUB_REPOSITORY": "example/web",
        "GITHUB_RUN_ID": "77",
        "GITHUB_WORKSPACE": str(project.root),
        "GITHUB_OUTPUT": str(tmp / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary"),
        "RUNNER_TEMP": str(tmp / "runner-temp"),
    }


def azure_env(project: Project, tmp: Path) -> dict[str, str]:
    """An Azure DevOps agent's task environment for a tag build of ``project``."""
    sha = head_commit(project)
    (tmp / "agent-temp").mkdir(exist_ok=True)
    return {
        **CLEAN_ENV,
        "TF_BUILD": "True",
        "BUILD_REASON": "IndividualCI",
        "BUILD_SOURCEBRANCH": "refs/tags/v1.2.3",
        "BUILD_SOURCEVERSION": sha,
        "BUILD_SOURCESDIRECTORY": str(project.root),
        "AGENT_TEMPDIRECTORY": str(tmp / "agent-temp"),
    }


def promoter(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(args, cwd=cwd, env=env)


def github_outputs(path: Path) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` read as the runner reads it."""
    return parse_file_command(path.read_text())


def github_annotations(stderr: str) -> list[dict[str, str]]:
    """The annotations in a step's log, each its level, properties and message."""
    commands = (parse_workflow_command(line) for line in stderr.splitlines())
    return [
        {"level": c.name, **c.properties, "message": c.message}
        for c in commands
        if c is not None and c.name in ("error", "warning", "notice")
    ]


def vso_commands(stderr: str) -> list[tuple[str, dict[str, str], str]]:
    """The ``##vso`` commands in a task's log, as the agent reads them."""
    return [(v.command, v.properties, v.message) for v in parse_vso(stderr.splitlines())]


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_github_passing_run(make_project: Callable[..., Project], tmp_path: Path) -> None:
    project = make_project()
    image = project.seed()
    env = github_env(project, tmp_path)  # detected from GITHUB_ACTIONS, no --ci
    done = promoter(env, "run", "--stage", "check,promote", cwd=project.root)
    assert done.returncode == 0, done.stderr
    outputs = github_outputs(tmp_path / "output")
    assert set(outputs) == {
        "result",
        "digest",
        "digests",
        "tags",
        "promoted-refs",
        "report",
        "plan",
    }
    assert outputs["result"] == "succeeded"
    assert outputs["digest"] == image.digest
    assert json.loads(outputs["digests"]) == {"web": image.digest}
    staging = f"{project.staging.host}/web"
    assert outputs["tags"].splitlines()[0] == f"{staging}:1.2.3"
    assert json.loads(outputs["promoted-refs"]) == {
        "web": sorted(f"{r.host}/web@{image.digest}" for r in (project.prod_a, project.prod_b))
    }
    report = json.loads(Path(outputs["report"]).read_text())
    assert report["exitCode"] == 0 and report["promotion"]["ok"] is True
    assert Path(outputs["report"]).parent == tmp_path / "runner-temp"
    summary = (tmp_path / "summary").read_text()
    assert "## ✅ promoter run: succeeded" in summary
    for section in ("### Images", "### Policy", "### Promotions", "### What moved"):
        assert section in summary
    assert f"`{project.prod_a.host}/web@{image.digest}`" in summary
    rule = line_of(project.file, "rule: non-root")
    assert (
        # Markdown's brackets escaped: "[...]" from a platform could otherwise start a link.
        f"| web | non-root \\[linux/amd64\\] | pass | runs as user '1000' | `pipeline.yml:{rule}` |"
        in summary
    )
    assert github_annotations(done.stderr) == []


def test_github_policy_failure_is_annotated_at_the_rule(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    project.seed(user="0")  # runs as root: non-root fails
    env = github_env(project, tmp_path)
    done = promoter(env, "--ci", "github", "run", "--stage", "check,promote", cwd=project.root)
    assert done.returncode == 1, done.stderr
    outputs = github_outputs(tmp_path / "output")
    assert outputs["result"] == "refused"
    assert json.loads(outputs["promoted-refs"]) == {}
    (annotation,) = github_annotations(done.stderr)
    assert annotation["level"] == "error"
    assert annotation["file"] == "pipeline.yml"  # relative to GITHUB_WORKSPACE
    assert int(annotation["line"]) == line_of(project.file, "rule: non-root")
    assert annotation["title"] == "policy non-root failed: web"
    summary = (tmp_path / "summary").read_text()
    assert "promoter run: refused" in summary
    assert f"`pipeline.yml:{annotation['line']}`" in summary


def test_github_tag_conflict_is_annotated_at_the_promotion_rule(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    project.seed()
    other = make_image(seed="someone-else", user="1000")
    push_http(other, project.prod_a.url, "web", "1.2.3")  # immutable 1.2.3, another digest
    env = github_env(project, tmp_path)
    done = promoter(env, "run", "--stage", "check,promote", cwd=project.root)
    assert done.returncode == 1, done.stderr
    assert github_outputs(tmp_path / "output")["result"] == "refused"
    (annotation,) = github_annotations(done.stderr)
    assert annotation["title"] == "tag conflict: web"
    assert annotation["file"] == "pipeline.yml"
    assert int(annotation["line"]) == line_of(project.file, "- to: [prod-a/web, prod-b/web]")
    assert annotation["message"].startswith(f"{project.prod_a.host}/web:1.2.3: ")


def test_azure_configuration_error(make_project: Callable[..., Project], tmp_path: Path) -> None:
    project = make_project()
    text = project.file.read_text().replace("staging: staging/web", "staging: stagin/web")
    project.file.write_text(text)
    env = azure_env(project, tmp_path)
    done = promoter(env, "plan", cwd=project.root)
    assert done.returncode == 2
    commands = vso_commands(done.stderr)
    variables = {p["variable"]: v for area, p, v in commands if area == "task.setvariable"}
    assert variables["result"] == "failed"
    assert all(p.get("isOutput") == "true" for area, p, _ in commands if area == "task.setvariable")
    (issue,) = [(p, v) for area, p, v in commands if area == "task.logissue"]
    assert issue[0]["type"] == "error"
    assert issue[0]["sourcepath"] == "pipeline.yml"
    assert int(issue[0]["linenumber"]) == line_of(project.file, "staging: stagin/web")
    assert "registry alias 'stagin' is not defined" in issue[1]
    (summary,) = [v for area, _, v in commands if area == "task.uploadsummary"]
    assert Path(summary).parent == tmp_path / "agent-temp"
    assert "configuration error" in Path(summary).read_text()
    assert commands[-1][0] == "task.complete" and commands[-1][1] == {"result": "Failed"}


def test_azure_warn_mode_policy_succeeds_with_issues(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project(policies="  - rule: non-root\n    mode: warn\n")
    image = project.seed(user="0")
    env = azure_env(project, tmp_path)
    done = promoter(env, "run", "--stage", "check,promote", cwd=project.root)
    assert done.returncode == 0, done.stderr
    commands = vso_commands(done.stderr)
    variables = {p["variable"]: v for area, p, v in commands if area == "task.setvariable"}
    assert variables["result"] == "succeeded"
    assert variables["digest"] == image.digest
    assert json.loads(variables["promotedRefs"])["web"][0].endswith(f"/web@{image.digest}")
    (issue,) = [(p, v) for area, p, v in commands if area == "task.logissue"]
    assert issue[0]["type"] == "warning"
    assert int(issue[0]["linenumber"]) == line_of(project.file, "rule: non-root")
    assert commands[-1][1] == {"result": "SucceededWithIssues"}


def test_plan_on_github_gives_its_plan_file(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    project.seed()
    env = github_env(project, tmp_path)
    done = promoter(env, "plan", "--output", "json", cwd=project.root)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # stdout stays one JSON document: service commands go to stderr
    outputs = github_outputs(tmp_path / "output")
    plan = Path(outputs["plan"])
    assert plan.parent == tmp_path / "runner-temp"
    assert json.loads(plan.read_text())["format"] == "promoter.plan/v1"
    applied = promoter(env, "apply", str(plan), cwd=project.root)
    assert applied.returncode == 0, applied.stderr
    assert github_outputs(tmp_path / "output")["result"] == "succeeded"


@pytest.fixture
def secure_registry(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> tuple[Registry, TlsFiles]:
    tls = make_tls(tmp_path / "tls")
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {HTPASSWD_USER: HTPASSWD_PASSWORD})
    return registry_factory(tls=tls.server, htpasswd=htpasswd), tls


@pytest.mark.parametrize("service", ["github", "azure-devops"])
def test_a_password_appears_nowhere(
    service: str, secure_registry: tuple[Registry, TlsFiles], tmp_path: Path
) -> None:
    registry, tls = secure_registry
    host_var = "PROMOTER_REGISTRY_" + re.sub(r"[^A-Za-z0-9]", "_", registry.host).upper()
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {
        **{k: v for k, v in CLEAN_ENV.items() if not k.startswith("PROMOTER_")},
        f"{host_var}_USERNAME": HTPASSWD_USER,
        f"{host_var}_PASSWORD": HTPASSWD_PASSWORD,
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "RUNNER_TEMP": str(temp),
        "AGENT_TEMPDIRECTORY": str(temp),
        "DOCKER_CONFIG": str(tmp_path / "no-docker-config"),
    }
    policy = tmp_path / "policy.yml"
    policy.write_text("policies:\n  - rule: non-root\n")
    reference = f"{registry.host}/nope:missing"
    done = promoter(
        env, "--ci", service, "--debug", "check", reference, "--policy", str(policy),
        "--ca-file", tls.ca, "--output", "json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr  # logged in, the image is not there
    assert "nope" in done.stderr
    mask = {"github": "::add-mask::", "azure-devops": "##vso[task.setsecret]"}[service]
    first = done.stderr.splitlines()[0]
    assert first == f"{mask}{HTPASSWD_PASSWORD}"  # masked before anything else
    forms = [
        HTPASSWD_PASSWORD,
        base64.b64encode(f"{HTPASSWD_USER}:{HTPASSWD_PASSWORD}".encode()).decode(),
    ]
    written = [
        done.stdout,
        "\n".join(x for x in done.stderr.splitlines() if not x.startswith(mask)),
    ]
    written += [
        p.read_text(errors="replace")
        for p in tmp_path.rglob("*")
        if p.is_file() and p.parent != tmp_path / "tls"
    ]
    for text in written:
        for form in forms:
            assert form not in text
    assert any(p.name.startswith("promoter-check-report-") for p in temp.iterdir())
