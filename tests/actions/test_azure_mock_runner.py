"""The Azure DevOps task under azure-pipelines-task-lib's own test harness.

``MockTestRunner`` (``azure-pipelines-task-lib/mock-test``) is what task authors
test with: it runs a ``TaskMockRunner`` script (``mock-run``: the task's inputs
set, the task library mocked) under a Node.js from its ``_download`` folder and
reads the task's stdout: ``succeeded``/``failed`` from ``task.complete``, the
issues from ``task.issue``. Its Node is the local one, placed where the runner
looks (``$HOME/azure-pipelines-task-lib/_download/node20/node-v20.13.1-linux-x64/bin/node``
and the ``node20.completed`` marker); ``TASK_NODE_URL`` points at a closed
loopback port, so a download could only fail. Behind the mock is the real
promoter (through the recording ``pythonPath``) against real registries:
a promotion that passes, one the non-root policy refuses (exit 1), and a
pipeline file with an unknown registry alias (exit 2).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.actions.conftest import azure_project_env
from tests.promote.project import Project
from tests.support.azure_agent import (
    TASK_DIR,
    Vso,
    agent_env,
    agent_lines,
    node_missing,
    parse_vso,
    recorded_calls,
)
from tests.support.real_parts import require

HARNESS = Path(__file__).parent / "azure_mock"
#: The Node version MockTestRunner.runAsync(20) looks for (its table in mock-test.js).
NODE_20 = "v20.13.1"


@pytest.fixture
def node() -> None:
    require(node_missing())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _place_node(home: Path) -> Path:
    """The local node where MockTestRunner looks for its Node 20, with its marker."""
    download = home / "azure-pipelines-task-lib" / "_download"
    exe = download / "node20" / f"node-{NODE_20}-linux-x64" / "bin" / "node"
    exe.parent.mkdir(parents=True)
    local = shutil.which("node")
    assert local is not None
    exe.symlink_to(Path(local).resolve())
    (download / "node20.completed").write_text("")
    return exe


def _mock_test(
    env: dict[str, str], tmp_path: Path, answers: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run the MockTestRunner test with the agent's environment ``env`` (its INPUT_* moved to
    the task side's setInput) and the mock task library's ``answers``; what the runner read,
    as JSON."""
    home = tmp_path / "home"
    _place_node(home)
    inputs = {k[len("INPUT_") :]: v for k, v in env.items() if k.startswith("INPUT_")}
    harness_env = {k: v for k, v in env.items() if not k.startswith("INPUT_")}
    harness_env.update(
        {
            "HOME": str(home),
            "NODE_PATH": str(TASK_DIR / "node_modules"),
            "TASK_NODE_URL": f"http://127.0.0.1:{_closed_port()}",
            "MOCK_TASK_INDEX": str(TASK_DIR / "promoter-task" / "index.js"),
            "MOCK_TASK_JSON": str(TASK_DIR / "promoter-task" / "task.json"),
            "MOCK_TASK_INPUTS": json.dumps(inputs),
            "MOCK_TASK_ANSWERS": json.dumps(answers or {}),
        }
    )
    done = subprocess.run(
        ["node", str(HARNESS / "run_mock_test.js")],
        cwd=env["SYSTEM_DEFAULTWORKINGDIRECTORY"],
        env=harness_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert "Downloading file" not in done.stdout + result["stdout"]
    assert result["stdout"], result["stderr"]  # the task ran: under the placed node
    return result


def _complete(result: dict[str, Any]) -> Vso:
    (complete,) = [
        v for v in parse_vso(agent_lines(result["stdout"])) if v.command == "task.complete"
    ]
    return complete


def _promoter_ran(tmp_path: Path, result: dict[str, Any]) -> None:
    """The real promoter ran once, as the runner's one tool run ([command] line)."""
    calls = recorded_calls(tmp_path / "calls.jsonl")
    assert calls[-1]["argv"][:4] == ["-m", "promoter", "--ci", "azure-devops"]
    assert result["invokedToolCount"] == 1
    (cmdline,) = result["cmdlines"]
    assert cmdline.endswith(" ".join(calls[-1]["argv"])), cmdline


@pytest.mark.usefixtures("node")
def test_a_passing_promotion_reads_as_succeeded(auth_project: Project, tmp_path: Path) -> None:
    image = auth_project.seed()
    env = azure_project_env(auth_project, tmp_path, {"command": "promote"})
    result = _mock_test(env, tmp_path)
    assert result["succeeded"] is True, result["stdout"]
    assert result["errorIssues"] == [] and result["warningIssues"] == []
    _promoter_ran(tmp_path, result)
    outputs = {
        v.properties["variable"]: v.message
        for v in parse_vso(agent_lines(result["stdout"]))
        if v.command == "task.setvariable"
    }
    assert outputs["digest"] == image.digest and outputs["result"] == "succeeded"


@pytest.mark.usefixtures("node")
def test_a_policy_refusal_reads_as_failed_with_its_issue(
    auth_project: Project, tmp_path: Path
) -> None:
    auth_project.seed(user="0")  # runs as root: the non-root rule refuses it
    env = azure_project_env(auth_project, tmp_path, {"command": "promote"})
    result = _mock_test(env, tmp_path)
    assert result["failed"] is True, result["stdout"]
    assert any("non-root" in issue for issue in result["errorIssues"]), result["errorIssues"]
    _promoter_ran(tmp_path, result)
    assert _complete(result).message.startswith("promoter: refused")


@pytest.mark.usefixtures("node")
def test_a_configuration_error_reads_as_failed_with_its_issue(
    auth_project: Project, tmp_path: Path
) -> None:
    text = auth_project.file.read_text()
    auth_project.file.write_text(text.replace("staging: staging/web", "staging: stagin/web"))
    env = azure_project_env(auth_project, tmp_path, {"command": "run", "stages": "check,promote"})
    result = _mock_test(env, tmp_path)
    assert result["failed"] is True, result["stdout"]
    assert any("stagin" in issue for issue in result["errorIssues"]), result["errorIssues"]
    _promoter_ran(tmp_path, result)
    assert _complete(result).message == "promoter: bad input (exit 2)"


@pytest.mark.usefixtures("node")
def test_the_shims_own_bad_input_reads_as_failed(tmp_path: Path) -> None:
    """No promoter run at all: the shim refuses the input; the runner sees its issue. The
    Python comes from the mock's answer to ``which python3`` (no ``pythonPath``)."""
    env = agent_env(tmp_path / "agent", tmp_path, {"command": "deploy"})
    result = _mock_test(env, tmp_path, {"which": {"python3": sys.executable}})
    assert result["failed"] is True
    (issue,) = result["errorIssues"]
    assert issue.startswith("promoter task: bad input: command: 'deploy' is not one of")
    assert result["invokedToolCount"] == 0
