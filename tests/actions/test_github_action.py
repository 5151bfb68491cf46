"""The GitHub Action (``actions/github``) run as the runner runs a composite action.

The action installs promoter once per session (``first_use``) and every later
use reuses that environment. Against real registries it promotes, is refused
by a policy and stops on a configuration error; each time the outputs, the job
summary and the annotations (with file and line) are read back. User text in
the inputs reaches promoter as literal arguments, and no registry secret is
ever written anywhere but in the runner's ``::add-mask::`` commands.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import yaml

from tests.actions.conftest import ACTION_DIR, ROOT, github_tag_event
from tests.promote.project import Project, head_digest
from tests.support.actions_runner import (
    ActionResult,
    CompositeRunner,
    WorkflowCommand,
    parse_file_command,
    parse_workflow_command,
    pinned_uses,
)
from tests.support.images import make_image
from tests.support.oci_store import push_with_client
from tests.support.registry import Registry
from tests.support.tls import make_tls, write_htpasswd

pytestmark = pytest.mark.registry

OUTPUTS = ("result", "digest", "digests", "tags", "promoted-refs", "report", "plan")
SCRIPT = ACTION_DIR / "promoter_action.py"


def _log(result: ActionResult) -> str:
    return result.log.decode("utf-8", "replace")


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# -- the action file itself --------------------------------------------------------------


def test_run_bodies_hold_no_expressions_and_inputs_arrive_through_env() -> None:
    text = (ACTION_DIR / "action.yml").read_text()
    action = yaml.safe_load(text)
    steps = action["runs"]["steps"]
    for step in steps:
        if "run" in step:
            assert "${{" not in step["run"], step
            assert step["shell"] == "bash"
        for key in ("with", "env"):
            for value in (step.get(key) or {}).values():
                # An expression is a whole value: never pasted into a script.
                assert "${{" not in str(value) or re.fullmatch(r"\$\{\{[^}]*\}\}", str(value))
    run_step = next(s for s in steps if s.get("id") == "promoter")
    names = {v for v in run_step["env"].values() if "inputs." in v}
    assert names == {
        f"${{{{ inputs.{n} }}}}"
        for n in ("command", "pipeline", "images", "stages", "plan-file", "args")
    }
    for name in OUTPUTS:
        assert action["outputs"][name]["value"] == f"${{{{ steps.promoter.outputs.{name} }}}}"
    assert set(action["inputs"]) == {
        "command",
        "pipeline",
        "images",
        "stages",
        "plan-file",
        "args",
        "working-directory",
        "python-version",
    }


def test_uses_are_pinned_by_commit() -> None:
    uses = pinned_uses((ACTION_DIR / "action.yml").read_text())
    assert [u.split("@")[0] for u in uses] == ["actions/setup-python", "actions/cache"]
    setup = next(
        s for s in yaml.safe_load((ACTION_DIR / "action.yml").read_text())["runs"]["steps"]
    )
    assert setup["with"]["update-environment"] is False


def test_the_lock_pins_every_runtime_dependency_and_nothing_else() -> None:
    lock = (ACTION_DIR / "requirements.lock").read_text().splitlines()
    pins = dict(line.split("==") for line in lock if line and not line.startswith("#"))
    project = (ROOT / "pyproject.toml").read_text()
    listed = re.search(r"^dependencies = \[(.*?)^\]", project, re.S | re.M)
    assert listed is not None
    direct = {
        re.split(r"[<>=!~\[;]", d.strip().strip('",'))[0].lower()
        for d in listed[1].split("\n")
        if d.strip()
    }
    assert direct <= set(pins), direct - set(pins)
    assert not {"pytest", "ruff", "mypy", "hypothesis", "azure-identity"} & set(pins)
    assert all(re.fullmatch(r"[\w.]+", version) for version in pins.values())


# -- install once, reuse after ---------------------------------------------------------------


def test_the_first_use_installs_and_a_second_use_reuses(
    first_use: ActionResult, action_runner: CompositeRunner
) -> None:
    prepared = first_use.step("environment").outputs
    assert prepared["ready"] == "false"
    venv = Path(prepared["venv"])
    assert venv.is_relative_to(action_runner.runner_temp)
    assert first_use.steps[2].uses.startswith("actions/cache@")
    assert first_use.steps[2].with_ == {"path": str(venv), "key": prepared["key"]}
    assert not first_use.steps[3].skipped and first_use.steps[3].exit_code == 0
    assert (venv / ".promoter-action").read_text().strip() == prepared["key"]
    assert "py" + first_use.step("python").outputs["python-version"] in prepared["key"]
    # Installed, not linked: the venv holds its own copy of promoter.
    installed = list(venv.glob("lib/python*/site-packages/promoter/__init__.py"))
    assert installed, "promoter is not installed in the action's environment"
    # The checkout stays clean: the build ran in a copy.
    assert not (ACTION_DIR / "build").exists() and not list(ACTION_DIR.glob("*.egg-info"))

    again = action_runner.run({"command": "copy", "args": "--help"})
    assert again.exit_code == 0, _log(again)
    assert again.step("environment").outputs["ready"] == "true"
    assert again.step("environment").outputs["key"] == prepared["key"]
    assert again.steps[2].skipped and again.steps[3].skipped
    assert b"usage: promoter copy" in again.step("promoter").log


# -- how inputs become promoter's command line (a recording stand-in for promoter) ---------


@pytest.fixture
def recording_venv(tmp_path: Path) -> Path:
    """A venv whose ``promoter`` records its arguments and exits with ``FAKE_EXIT``."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    program = venv / "bin" / "promoter"
    program.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "open(os.environ['RECORD'], 'w').write(json.dumps(sys.argv[1:]))\n"
        "sys.exit(int(os.environ.get('FAKE_EXIT', '0')))\n"
    )
    program.chmod(0o755)
    return venv


def _run_step(
    venv: Path, tmp_path: Path, inputs: Mapping[str, str], exit_code: int = 0
) -> tuple[int, list[str] | None, dict[str, str], list[WorkflowCommand]]:
    record, output = tmp_path / "argv.json", tmp_path / "output"
    record.unlink(missing_ok=True)
    output.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update({"INPUT_" + k.replace("-", "_").upper(): v for k, v in inputs.items()})
    env.update(
        PROMOTER_VENV=str(venv),
        RUNNER_TEMP="/runner/temp",
        GITHUB_OUTPUT=str(output),
        RECORD=str(record),
        FAKE_EXIT=str(exit_code),
    )
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "run"], env=env, capture_output=True, text=True, check=False
    )
    argv = json.loads(record.read_text()) if record.exists() else None
    commands = [c for c in map(parse_workflow_command, done.stderr.splitlines()) if c]
    return done.returncode, argv, parse_file_command(output.read_text()), commands


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (
            {"command": "run", "images": "web, api\nworker", "stages": "build,push"},
            [
                *("run", "-f", "pipeline.yml", "--image", "web", "--image", "api"),
                *("--image", "worker", "--stage", "build,push"),
            ],
        ),
        ({"command": "", "pipeline": "ci/p.yml"}, ["run", "-f", "ci/p.yml"]),
        (
            {"command": "plan"},
            ["plan", "-f", "pipeline.yml", "--out", "/runner/temp/promoter-plan.json"],
        ),
        (
            {"command": "plan", "plan-file": "out/plan.json", "images": "web"},
            ["plan", "-f", "pipeline.yml", "--image", "web", "--out", "out/plan.json"],
        ),
        (
            {"command": "apply", "plan-file": "plan.json", "pipeline": "ci/p.yml"},
            ["apply", "plan.json", "-f", "ci/p.yml"],
        ),
        (
            {"command": "check", "args": "reg.example/web:1 --output sarif"},
            ["check", "-f", "pipeline.yml", "reg.example/web:1", "--output", "sarif"],
        ),
        (
            {"command": "promote", "images": "web"},
            ["run", "-f", "pipeline.yml", "--image", "web", "--stage", "check,promote"],
        ),
        (
            {"command": "copy", "args": "'oci:a b' \"c d\" --referrers"},
            ["copy", "oci:a b", "c d", "--referrers"],
        ),
        (
            {"command": "rollback", "images": "web", "args": "--dry-run"},
            ["rollback", "-f", "pipeline.yml", "web", "--dry-run"],
        ),
        (
            {"command": "prune", "images": "web", "plan-file": "prune.json"},
            ["prune", "-f", "pipeline.yml", "--image", "web", "--out", "prune.json"],
        ),
        ({"command": "prune", "args": "--apply"}, ["prune", "-f", "pipeline.yml", "--apply"]),
    ],
)
def test_inputs_map_to_promoters_command_line(
    recording_venv: Path, tmp_path: Path, inputs: dict[str, str], expected: list[str]
) -> None:
    code, argv, outputs, _ = _run_step(recording_venv, tmp_path, inputs)
    assert code == 0
    assert argv == ["--ci", "github", *expected]
    # promoter writes its outputs itself; this stand-in wrote none, so the action said what it saw.
    assert outputs == {"result": "succeeded"}


def test_debug_goes_before_the_command(recording_venv: Path, tmp_path: Path) -> None:
    _, argv, _, _ = _run_step(recording_venv, tmp_path, {"command": "copy", "args": "a b --debug"})
    assert argv == ["--debug", "--ci", "github", "copy", "a", "b"]


@pytest.mark.parametrize("code", [1, 2, 3, 130])
def test_the_step_ends_with_promoters_exit_code(
    recording_venv: Path, tmp_path: Path, code: int
) -> None:
    done, _, outputs, _ = _run_step(recording_venv, tmp_path, {"command": "run"}, code)
    assert done == code
    # promoter did not write a result (the stand-in does not): the action says what it saw.
    assert outputs == {"result": "refused" if code == 1 else "failed"}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "apply"}, "command apply needs the plan-file input"),
        ({"command": "deploy"}, "command 'deploy': choose one of run, plan"),
        ({"command": "copy", "args": '"; rm -rf /'}, "args: No closing quotation"),
    ],
)
def test_bad_inputs_stop_before_promoter(
    recording_venv: Path, tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    code, argv, outputs, commands = _run_step(recording_venv, tmp_path, inputs)
    assert (code, argv, outputs) == (2, None, {"result": "failed"})
    [error] = [c for c in commands if c.name == "error"]
    assert error.message.startswith(message) and error.properties == {"title": "promoter action"}


def test_inputs_are_never_run_by_a_shell(runner: CompositeRunner, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "keep").write_text("keep")
    pwned = tmp_path / "pwned"
    workspace = tmp_path / "ws"
    workspace.mkdir()
    hostile = {
        "args": f"'$(touch {pwned})' '`touch {pwned}`\"; rm -rf {canary}; echo \"'",
        "pipeline": f'p.yml"; touch {pwned}; echo "',
        "images": f"web$(touch {pwned})",
    }
    copied = runner.run({"command": "copy", "args": hostile["args"]}, workspace=workspace)
    assert copied.exit_code == 2, _log(copied)
    assert f"invalid reference '$(touch {pwned})'" in _log(copied)
    planned = runner.run(
        {"command": "run", "pipeline": hostile["pipeline"], "images": hostile["images"]},
        workspace=workspace,
    )
    assert planned.exit_code == 2, _log(planned)
    assert f'error: p.yml"; touch {pwned}; echo ": no such file' in _log(planned)
    # An expression in an input is text, not evaluated again.
    literal = runner.run(
        {"command": "copy", "args": "'${{ github.action_path }}' oci:out"}, workspace=workspace
    )
    assert "invalid reference '${{ github.action_path }}'" in _log(literal), _log(literal)
    assert not pwned.exists()
    assert (canary / "keep").read_text() == "keep"
    assert copied.outputs["result"] == planned.outputs["result"] == "failed"


# -- against real registries ---------------------------------------------------------------


def test_a_promotion_reports_every_output(
    runner: CompositeRunner, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    image = project.seed()
    workspace = project.root.parent
    event = github_tag_event(project)
    inputs = {"working-directory": "project", "command": "run", "stages": "check,promote"}
    done = runner.run({**inputs, "images": "web"}, env=event, workspace=workspace)
    assert done.exit_code == 0, _log(done)
    out = done.outputs
    assert set(out) == set(OUTPUTS)
    assert out["result"] == "succeeded"
    assert out["digest"] == image.digest
    assert json.loads(out["digests"]) == {"web": image.digest}
    promoted = json.loads(out["promoted-refs"])
    assert promoted == {
        "web": sorted(f"{r.host}/web@{image.digest}" for r in (project.prod_a, project.prod_b))
    }
    assert head_digest(project.prod_a, "web", "1.2.3") == image.digest
    report = Path(out["report"])
    assert report.is_relative_to(runner.runner_temp)
    assert json.loads(report.read_text())["plan"]["images"][0]["digest"] == image.digest
    assert out["plan"] == ""
    assert "succeeded" in done.summary and image.digest in done.summary
    assert project.prod_a.host in done.summary
    assert done.annotations("error") == []


def test_plan_then_apply_that_plan(
    runner: CompositeRunner, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    image = project.seed()
    event = github_tag_event(project)
    inputs = {"working-directory": "project"}
    planned = runner.run({**inputs, "command": "plan"}, env=event, workspace=project.root.parent)
    assert planned.exit_code == 0, _log(planned)
    plan = Path(planned.outputs["plan"])
    assert plan == runner.runner_temp / "promoter-plan.json" and plan.is_file()
    assert planned.outputs["result"] == "succeeded"
    assert planned.outputs["digest"] == image.digest
    assert head_digest(project.prod_a, "web", "1.2.3") is None  # a plan writes nothing
    applied = runner.run({**inputs, "command": "apply", "plan-file": str(plan)}, env=event)
    assert applied.exit_code == 0, _log(applied)
    assert applied.outputs["result"] == "succeeded"
    assert json.loads(applied.outputs["promoted-refs"])["web"] == sorted(
        f"{r.host}/web@{image.digest}" for r in (project.prod_a, project.prod_b)
    )
    assert head_digest(project.prod_b, "web", "latest") == image.digest


def test_a_policy_failure_is_refused_with_an_annotation(
    runner: CompositeRunner, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    image = project.seed(user="0")
    done = runner.run(
        {"command": "promote", "working-directory": "project"},
        env=github_tag_event(project),
        workspace=project.root.parent,
    )
    assert done.exit_code == 1, _log(done)
    assert done.outputs["result"] == "refused"
    assert done.outputs["digest"] == image.digest
    assert json.loads(done.outputs["promoted-refs"]) == {}
    assert head_digest(project.prod_a, "web", "1.2.3") is None
    errors = done.annotations("error")
    assert errors, _log(done)
    rule_line = _line_of(project.file, "rule: non-root")
    located = [e for e in errors if e.properties.get("file") == "project/pipeline.yml"]
    assert located, errors
    assert any(e.properties.get("line") == str(rule_line) for e in located), errors
    assert any("non-root" in (e.message + e.properties.get("title", "")) for e in located)
    assert "refused" in done.summary and "non-root" in done.summary


def test_a_configuration_error_points_at_its_line(
    runner: CompositeRunner, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    project.file.write_text(project.file.read_text().replace("policies:", "policys:"))
    done = runner.run(
        {"command": "run", "working-directory": "project"},
        env=github_tag_event(project),
        workspace=project.root.parent,
    )
    assert done.exit_code == 2, _log(done)
    assert done.outputs["result"] == "failed"
    [error] = done.annotations("error")
    assert error.properties["file"] == "project/pipeline.yml"
    assert error.properties["line"] == str(_line_of(project.file, "policys:"))
    assert error.properties["col"] == "1"
    assert "policys" in error.message
    assert "failed" in done.summary and "policys" in done.summary


# -- secrets -------------------------------------------------------------------------------


def _files_under(*roots: Path) -> dict[Path, tuple[int, int]]:
    seen = {}
    for root in roots:
        for dirpath, _, filenames in os.walk(root):
            for name in filenames:
                path = Path(dirpath, name)
                if path.is_file() and not path.is_symlink():
                    stat = path.stat()
                    seen[path] = (stat.st_mtime_ns, stat.st_size)
    return seen


@pytest.fixture
def changed_files(runner: CompositeRunner, tmp_path: Path) -> Iterator[Callable[[], list[Path]]]:
    """The files in RUNNER_TEMP and the test's folder made or changed since the test began."""
    roots = (runner.runner_temp, tmp_path)
    before = _files_under(*roots)

    def changed() -> list[Path]:
        return [p for p, s in _files_under(*roots).items() if before.get(p) != s]

    yield changed


def _assert_never_written(
    result: ActionResult, secrets: list[bytes], files: list[Path], exclude: list[Path]
) -> None:
    masks = [c for c in result.commands if c.name == "add-mask"]
    log = result.step("promoter").log
    lines = log.splitlines()
    mask_lines = [i for i, line in enumerate(lines) if line.startswith(b"::add-mask::")]
    # Masks come first: no line of the step is printed before the runner knows them.
    assert mask_lines == list(range(len(mask_lines))), log.decode(errors="replace")[:2000]
    assert {m.message.encode() for m in masks} >= {secrets[0]}
    kept = b"\n".join(
        line for line in result.log.splitlines() if not line.startswith(b"::add-mask::")
    )
    texts = [("log", kept), ("summary", result.summary.encode())]
    texts += [(f"output {k}", v.encode()) for k, v in result.outputs.items()]
    texts += [(str(p), p.read_bytes()) for p in files if p not in exclude]
    for secret in secrets:
        for where, data in texts:
            assert secret not in data, f"a secret is written in {where}"


@pytest.mark.parametrize("source", ["environment", "docker-config"])
def test_a_registry_secret_is_never_written(
    runner: CompositeRunner,
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
    changed_files: Callable[[], list[Path]],
    source: str,
) -> None:
    password = "pw-" + os.urandom(12).hex()
    tls = make_tls(tmp_path / "tls")
    staging = registry_factory(
        tls=tls.server, htpasswd=write_htpasswd(tmp_path / "htpasswd", {"bob": password})
    )
    production = registry_factory()
    image = make_image(seed="secret", user="1000")
    from promoter.registry import RegistryClient, RegistryOptions
    from promoter.registry.access.keychain import DefaultCredentials

    login = {"PROMOTER_REGISTRY_USERNAME": "bob", "PROMOTER_REGISTRY_PASSWORD": password}
    options = RegistryOptions(ca_file=tls.ca, credentials=DefaultCredentials(environ=login))
    with RegistryClient(staging.host, options) as client:
        push_with_client(client, image, "web", "1.2.3")

    project = tmp_path / "ws" / "project"
    project.mkdir(parents=True)
    (project / "Dockerfile").write_text("FROM scratch\nUSER 1000\n")
    (project / "pipeline.yml").write_text(
        textwrap.dedent(
            f"""\
            version: 1
            registries:
              staging:
                host: {staging.host}
              prod:
                host: {production.host}
                insecure: true
            images:
              web:
                build:
                  context: .
                tags:
                  - type=semver,pattern={{{{version}}}}
                staging: staging/web
                promote:
                  - to: [prod/web]
                    tags: ["{{{{version}}}}"]
                    when: tag
            policies:
              - rule: non-root
            """
        )
    )
    env = {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/tags/v1.2.3",
        "GITHUB_SHA": "1" * 40,
    }
    secrets = [password.encode()]
    if source == "environment":
        variable = re.sub(r"[^A-Za-z0-9]", "_", staging.host).upper()
        env[f"PROMOTER_REGISTRY_{variable}_USERNAME"] = "bob"
        env[f"PROMOTER_REGISTRY_{variable}_PASSWORD"] = password
        exclude: list[Path] = []
    else:
        config = tmp_path / "docker"
        config.mkdir()
        auth = base64.b64encode(f"bob:{password}".encode())
        (config / "config.json").write_text(
            json.dumps({"auths": {staging.host: {"auth": auth.decode()}}})
        )
        env["DOCKER_CONFIG"] = str(config)
        secrets.append(auth)
        exclude = [config / "config.json"]
    inputs = {"command": "promote", "working-directory": "project", "args": f"--ca-file {tls.ca}"}

    passed = runner.run(inputs, env=env, workspace=project.parent)
    assert passed.exit_code == 0, _log(passed)
    assert head_digest(production, "web", "1.2.3") == image.digest
    _assert_never_written(passed, secrets, changed_files(), exclude)

    # A failing run with --debug: production is gone, after staging let us in.
    production.stop()
    (project / "pipeline.yml").write_text(
        (project / "pipeline.yml").read_text().replace('"{{version}}"', '"{{version}}-again"')
    )
    failed = runner.run(
        {**inputs, "args": inputs["args"] + " --debug"}, env=env, workspace=project.parent
    )
    assert failed.exit_code == 3, _log(failed)
    assert failed.outputs["result"] == "failed"
    _assert_never_written(failed, secrets, changed_files(), exclude)


# -- the runner stand-in reads what the runner reads -------------------------------------------


def test_the_stand_in_reads_commands_files_and_expressions_as_the_runner_does() -> None:
    from tests.support.actions_runner import evaluate, substitute

    command = parse_workflow_command(
        "::error file=a%2Cb%3Ac.yml,line=3,col=7,title=policy%3A x::50%25 done%0Anext%0D"
    )
    assert command is not None
    assert command.properties == {
        "file": "a,b:c.yml",
        "line": "3",
        "col": "7",
        "title": "policy: x",
    }
    assert command.message == "50% done\nnext\r"
    assert parse_workflow_command("no ::command here") is None
    text = "a=1\ntags<<EOF_1\nx:1\n\ny:2\nEOF_1\nb=c=d\n"
    assert parse_file_command(text) == {"a": "1", "tags": "x:1\n\ny:2", "b": "c=d"}
    with pytest.raises(ValueError, match="never comes"):
        parse_file_command("tags<<END\nx\n")
    contexts = {
        "inputs": {"plan-file": "", "command": "Plan"},
        "steps": {},
        "runner": {"os": "Linux"},
    }
    assert evaluate("inputs.plan-file || 'default.json'", contexts) == "default.json"
    assert evaluate("inputs.command == 'plan' && runner.os != 'Windows'", contexts) is True
    assert evaluate("steps.missing.outputs.ready != 'true'", contexts) is True
    assert substitute("${{ format('{0}-{{x}}', inputs['command']) }}!", contexts) == "Plan-{x}!"


def test_an_ignored_input_is_a_warning(recording_venv: Path, tmp_path: Path) -> None:
    code, argv, _, commands = _run_step(
        recording_venv, tmp_path, {"command": "copy", "images": "web", "args": "a b"}
    )
    assert (code, argv) == (0, ["--ci", "github", "copy", "a", "b"])
    [warning] = [c for c in commands if c.name == "warning"]
    assert warning.message == "images is ignored by copy"
