"""The Azure DevOps task (actions/azure-devops): its manifests, its packaging, and its shim
run under Node.js with the agent's environment against real registries.

The shim reads ``INPUT_*`` and ``ENDPOINT_*`` as azure-pipelines-task-lib 5 does,
passes the service connection to promoter in its environment, runs
``python -m promoter --ci azure-devops ...`` and sets the result from the exit
code only when promoter did not print its own ``##vso[task.complete]``. Every
``##vso`` line of the run is parsed: output variables, issues, summary, result.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import pytest
import yaml

from tests.actions.conftest import azure_project_env
from tests.promote.project import Project
from tests.support.azure_agent import (
    ROOT,
    TASK_DIR,
    Endpoint,
    Vso,
    agent_env,
    agent_output,
    node_missing,
    parse_vso,
    python_recorder,
    python_stub,
    recorded_calls,
    run_lib_js,
    run_task,
)
from tests.support.images import make_image, write_layout
from tests.support.real_parts import require
from tests.support.registry import Registry
from tests.support.token_server import TokenServer, answer_json

SCHEMAS = ROOT.parent / "shared" / "schemas"
TASK_JSON = TASK_DIR / "promoter-task" / "task.json"
EXAMPLE = ROOT / "examples" / "azure-devops" / "azure-pipelines.yml"
TASK_ID = "12eca697-eb55-4fa8-af1f-4d2d7a89035a"
OUTPUTS = ["result", "digest", "digests", "tags", "promotedRefs", "report", "plan"]


# --------------------------------------------------------------------------------------
# Schemas and manifests


def _schema(name: str) -> Any:
    """A schema from <repo>/../shared/schemas: missing fails under CI, else skips."""
    path = SCHEMAS / name
    if not path.is_file():
        require(f"{path} is missing (the shared JSON schemas)")
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _errors(schema: Any, document: Any) -> list[str]:
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in validator.iter_errors(document)
    ]


def test_task_json_is_valid_and_keeps_the_contract() -> None:
    schema = _schema("azure-devops-task.schema.json")
    assert "draft-04" in schema["$schema"]
    task = json.loads(TASK_JSON.read_text())
    assert _errors(schema, task) == []
    assert task["id"] == TASK_ID  # fixed: the agent knows a task by it
    assert set(task["execution"]) == {"Node20_1", "Node24"}
    assert {h["target"] for h in task["execution"].values()} == {"index.js"}
    inputs = {i["name"]: i for i in task["inputs"]}
    assert list(inputs) == [
        "command",
        "pipeline",
        "images",
        "stages",
        "planFile",
        "containerRegistry",
        "args",
        "workingDirectory",
        "pythonPath",
    ]
    assert inputs["command"]["type"] == "pickList"
    assert list(inputs["command"]["options"]) == [
        "run",
        "plan",
        "apply",
        "check",
        "promote",
        "copy",
        "rollback",
        "prune",
    ]
    assert inputs["command"]["defaultValue"] == "run"
    assert inputs["pipeline"]["defaultValue"] == "pipeline.yml"
    assert inputs["containerRegistry"]["type"] == "connectedService:dockerregistry"
    assert [v["name"] for v in task["outputVariables"]] == OUTPUTS
    assert task["restrictions"]["settableVariables"]["allowed"] == OUTPUTS
    assert task["minimumAgentVersion"] and task["instanceNameFormat"] and task["helpMarkDown"]


def test_vss_extension_is_valid_and_contributes_the_task() -> None:
    schema = _schema("vss-extension.json")
    manifest = json.loads((TASK_DIR / "vss-extension.json").read_text())
    assert _errors(schema, manifest) == []
    (contribution,) = manifest["contributions"]
    assert contribution["type"] == "ms.vss-distributed-task.task"
    assert contribution["properties"]["name"] == "promoter-task"
    assert {"path": "promoter-task"} in manifest["files"]


def test_package_json_locks_task_lib_5_and_tfx() -> None:
    package = json.loads((TASK_DIR / "package.json").read_text())
    lock = json.loads((TASK_DIR / "package-lock.json").read_text())
    assert package["dependencies"]["azure-pipelines-task-lib"].lstrip("^~").startswith("5.")
    assert "tfx-cli" in package["devDependencies"]
    assert lock["packages"]["node_modules/azure-pipelines-task-lib"]["version"].startswith("5.")
    assert lock["packages"]["node_modules/tfx-cli"]["dev"] is True


def _with_task(schema: Any, task: Any) -> Any:
    """The pipelines schema plus this task, as the editor extension adds an organization's
    own tasks: the published schema lists built-in tasks only, so any extension's task
    fails it. The entry checks the inputs against task.json (names, pickList values)."""
    schema = copy.deepcopy(schema)
    name = f"{task['name']}@{task['version']['Major']}"
    properties: dict[str, Any] = {}
    for item in task["inputs"]:
        properties[item["name"]] = (
            {"enum": list(item["options"])} if item["type"] == "pickList" else {"type": "string"}
        )
    definition = schema["definitions"]["task"]
    definition["properties"]["task"]["anyOf"].append({"enum": [name]})
    definition["anyOf"].append(
        {
            "properties": {
                "task": {"pattern": f"^{re.escape(name)}$"},
                "inputs": {"properties": properties, "additionalProperties": False},
            },
            "required": ["task"],
        }
    )
    return schema


def test_example_pipeline_is_valid_and_uses_the_digest_output() -> None:
    schema = _schema("azure-pipelines.json")
    task = json.loads(TASK_JSON.read_text())
    document = yaml.safe_load(EXAMPLE.read_text())
    assert _errors(_with_task(schema, task), document) == []
    text = EXAMPLE.read_text()
    assert "dependencies.build.outputs['promoter.digest']" in text
    assert "command: promote" in text and "containerRegistry:" in text
    assert document["trigger"]["tags"]["include"] == ["v*"] and document["pr"]


def test_rollback_example_is_valid_and_passes_the_parameters_by_environment() -> None:
    schema = _schema("azure-pipelines.json")
    task = json.loads(TASK_JSON.read_text())
    path = ROOT / "examples" / "azure-devops" / "rollback.yml"
    document = yaml.safe_load(path.read_text())
    assert _errors(_with_task(schema, task), document) == []
    assert [p["name"] for p in document["parameters"]] == ["tag", "to", "reason"]
    (stage,) = document["stages"]
    (job,) = stage["jobs"]
    steps = job["strategy"]["runOnce"]["deploy"]["steps"]
    step = next(s for s in steps if s.get("task") == "Promoter@0")
    assert step["inputs"]["command"] == "rollback" and "args" not in step["inputs"]
    assert step["env"]["PROMOTER_ROLLBACK_TAG"] == "${{ parameters.tag }}"


# --------------------------------------------------------------------------------------
# The shim under Node.js


@pytest.fixture
def node() -> None:
    require(node_missing())


def _lib(expression: str) -> Any:
    """Evaluate ``expression`` with the shim's lib.js as ``lib`` (JSON back)."""
    return run_lib_js(f"process.stdout.write(JSON.stringify({expression}));")


@pytest.mark.usefixtures("node")
def test_args_are_split_as_a_shell_would_without_expansion() -> None:
    cases = {
        "--debug --output json": ["--debug", "--output", "json"],
        '  \'a b\'  "c \\"d\\"" e\\ f': ["a b", 'c "d"', "e f"],
        "$HOME `id` $(id) *": ["$HOME", "`id`", "$(id)", "*"],
        "x''y \"\" ''": ["xy", "", ""],
        "one\ntwo\tthree": ["one", "two", "three"],
        "'it'\\''s'": ["it's"],
        "": [],
    }
    got = _lib(f"{json.dumps(list(cases))}.map((s) => lib.splitArgs(s))")
    assert got == list(cases.values())
    errors = _lib(
        "[\"'open\", '\"open', 'end\\\\'].map((s) => { try { lib.splitArgs(s); return null; }"
        " catch (e) { return e instanceof lib.InputError; } })"
    )
    assert errors == [True, True, True]


@pytest.mark.usefixtures("node")
def test_host_variables_are_named_as_promoter_reads_them() -> None:
    from promoter.registry.access.keychain import host_env_prefix

    hosts = ["127.0.0.1:5000", "myreg.azurecr.io", "[::1]:443", "Reg-1.example:8443"]
    got = _lib(f"{json.dumps(hosts)}.map((h) => lib.hostEnvPrefix(h))")
    assert got == [host_env_prefix(h) for h in hosts]
    assert got[:2] == ["PROMOTER_REGISTRY_127_0_0_1_5000_", "PROMOTER_REGISTRY_MYREG_AZURECR_IO_"]
    urls = ["https://myreg.azurecr.io/", "127.0.0.1:5000", "http://127.0.0.1:5000/v2/", "MyReg.io"]
    assert _lib(f"{json.dumps(urls)}.map((u) => lib.registryHost(u))") == [
        "myreg.azurecr.io",
        "127.0.0.1:5000",
        "127.0.0.1:5000",
        "myreg.io",
    ]


def _argv_lines(log: Path) -> list[str]:
    """The arguments of each recorded call, joined by blanks."""
    return [" ".join(call["argv"]) for call in recorded_calls(log)]


@pytest.mark.usefixtures("node")
@pytest.mark.parametrize(
    ("inputs", "argv"),
    [
        (
            {"images": "web, api\ndb", "stages": "build,push", "args": "--debug 'a b'"},
            "--debug run -f pipeline.yml --image web --image api --image db --stage build,push a b",
        ),
        ({"command": "promote", "pipeline": "ci/p.yml"}, "run -f ci/p.yml --stage check,promote"),
        ({"command": "plan", "planFile": "plan.json"}, "plan -f pipeline.yml --out plan.json"),
        (
            {"command": "apply", "planFile": "plan.json", "pipeline": "ci/p.yml"},
            "apply plan.json -f ci/p.yml",
        ),
        (
            {"command": "check", "args": "127.0.0.1:1/web:1"},
            "check -f pipeline.yml 127.0.0.1:1/web:1",
        ),
        ({"command": "copy", "args": "oci:x:1 127.0.0.1:1/y:1"}, "copy oci:x:1 127.0.0.1:1/y:1"),
        (
            {"command": "rollback", "images": "web", "args": "--tag latest"},
            "rollback -f pipeline.yml web --tag latest",
        ),
        (
            {"command": "prune", "images": "web", "planFile": "prune.json"},
            "prune -f pipeline.yml --image web --out prune.json",
        ),
        ({"command": "prune", "args": "--apply"}, "prune -f pipeline.yml --apply"),
    ],
)
def test_commands_map_to_promoter_arguments(
    tmp_path: Path, inputs: dict[str, str], argv: str
) -> None:
    log = tmp_path / "calls"
    python = python_stub(tmp_path / "python", log, 0)
    env = agent_env(tmp_path, tmp_path, {"pythonPath": str(python), **inputs})
    done = run_task(env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = _argv_lines(log)
    assert calls[-1] == f"-m promoter --ci azure-devops {argv}"


@pytest.mark.usefixtures("node")
def test_plan_and_apply_default_to_the_artifact_staging_directory(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    python = python_stub(tmp_path / "python", log, 0)
    staging = tmp_path / "staging"
    for command in ("plan", "apply"):
        env = agent_env(tmp_path, tmp_path, {"pythonPath": str(python), "command": command})
        env["BUILD_ARTIFACTSTAGINGDIRECTORY"] = str(staging)
        assert run_task(env, tmp_path).returncode == 0
    plan, apply = _argv_lines(log)[-3::2]
    assert plan.endswith(f"plan -f pipeline.yml --out {staging}/promoter-plan.json")
    assert apply.endswith(f"apply {staging}/promoter-plan.json -f pipeline.yml")


def _completes(done: subprocess.CompletedProcess[str]) -> list[Vso]:
    return [v for v in parse_vso(agent_output(done)) if v.command == "task.complete"]


@pytest.mark.usefixtures("node")
@pytest.mark.parametrize(
    ("code", "result", "message"),
    [
        (0, "Succeeded", "done"),
        (1, "Failed", "refused by policy or tag conflict"),
        (2, "Failed", "bad input"),
        (3, "Failed", "operation failed"),
        (130, "Failed", "interrupted"),
        (7, "Failed", "failed (exit 7)"),
    ],
)
def test_result_from_the_exit_code_when_promoter_set_none(
    tmp_path: Path, code: int, result: str, message: str
) -> None:
    python = python_stub(tmp_path / "python", tmp_path / "calls", code)
    done = run_task(agent_env(tmp_path, tmp_path, {"pythonPath": str(python)}), tmp_path)
    (complete,) = _completes(done)
    assert complete.properties["result"] == result
    assert message in complete.message
    assert done.returncode == code


@pytest.mark.usefixtures("node")
def test_promoters_own_result_is_left_alone(tmp_path: Path) -> None:
    own = "##vso[task.complete result=SucceededWithIssues;]promoter: its own\n"
    python = python_stub(tmp_path / "python", tmp_path / "calls", 1, output=[("stderr", own)])
    done = run_task(agent_env(tmp_path, tmp_path, {"pythonPath": str(python)}), tmp_path)
    (complete,) = _completes(done)
    assert complete.properties["result"] == "SucceededWithIssues"
    assert complete.message == "promoter: its own"


@pytest.mark.usefixtures("node")
def test_bad_inputs_fail_before_promoter_runs(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    python = python_stub(tmp_path / "python", log, 0)
    for inputs, words in [
        ({"command": "deploy"}, "not one of run, plan"),
        ({"args": "'unterminated"}, "unterminated single quote"),
        ({"command": "copy"}, "give SRC and DST"),
        ({"pythonPath": str(tmp_path / "nope")}, "does not exist"),
    ]:
        env = agent_env(tmp_path, tmp_path, {"pythonPath": str(python), **inputs})
        done = run_task(env, tmp_path)
        (complete,) = _completes(done)
        assert complete.properties["result"] == "Failed"
        assert "bad input" in complete.message and words in complete.message, complete.message
        assert done.returncode == 2
    assert not any(line.startswith("-m promoter") for line in _argv_lines(log))


@pytest.mark.usefixtures("node")
def test_no_promoter_and_no_bundled_wheel_is_a_clear_failure(tmp_path: Path) -> None:
    bare = tmp_path / "bare-python"
    bare.write_text("#!/bin/sh\nexit 1\n")  # imports nothing
    bare.chmod(0o755)
    done = run_task(agent_env(tmp_path, tmp_path, {"pythonPath": str(bare)}), tmp_path)
    (complete,) = _completes(done)
    assert complete.properties["result"] == "Failed"
    assert "promoter is not importable" in complete.message
    assert "carries no promoter wheel" in complete.message


# --------------------------------------------------------------------------------------
# Real runs: promoter against registries, credentials from a service connection


def _vso_of(done: subprocess.CompletedProcess[str]) -> list[Vso]:
    return parse_vso(agent_output(done))


def _outputs(vso: list[Vso]) -> dict[str, str]:
    return {
        v.properties["variable"]: v.message
        for v in vso
        if v.command == "task.setvariable" and v.properties.get("isOutput") == "true"
    }


def _assert_secret_nowhere(
    secret: str, done: subprocess.CompletedProcess[str], env: dict[str, str], calls: Path
) -> None:
    """Not in any output line (the agent consumes ``task.setsecret`` lines, never shows
    them), not in any file left in the agent's temp folder, not in any child's argv."""
    for line in (done.stdout + done.stderr).splitlines():
        if "##vso[task.setsecret]" in line:
            continue
        assert secret not in line, line
    for path in Path(env["AGENT_TEMPDIRECTORY"]).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    recorded = recorded_calls(calls)
    assert recorded, "the pythonPath recorder saw no call"
    for call in recorded:
        assert not any(secret in arg for arg in call["argv"]), call["argv"]


def _complete(vso: list[Vso]) -> Vso:
    completes = [v for v in vso if v.command == "task.complete"]
    assert len(completes) == 1, completes
    return completes[0]


@pytest.mark.usefixtures("node")
def test_promote_succeeds_with_the_service_connection(
    auth_project: Project, tmp_path: Path
) -> None:
    image = auth_project.seed()
    env = azure_project_env(auth_project, tmp_path, {"command": "promote"})
    done = run_task(env, auth_project.root)
    assert done.returncode == 0, done.stdout + done.stderr

    # The child got the connection in its environment, for prod-a's host only.
    prefix = "PROMOTER_REGISTRY_" + re.sub(r"[^A-Za-z0-9]", "_", auth_project.prod_a.host) + "_"
    main_call = recorded_calls(tmp_path / "calls.jsonl")[-1]
    assert main_call["argv"][:4] == ["-m", "promoter", "--ci", "azure-devops"]
    assert main_call["env"][prefix + "USERNAME"] == "alice"
    assert main_call["env"][prefix + "PASSWORD"] == auth_project.password  # type: ignore[attr-defined]

    vso = _vso_of(done)
    assert any(
        v.command == "task.setsecret" and v.message == auth_project.password  # type: ignore[attr-defined]
        for v in vso
    )
    outputs = _outputs(vso)
    assert outputs["result"] == "succeeded"
    assert outputs["digest"] == image.digest
    assert json.loads(outputs["digests"]) == {"web": image.digest}
    assert any(tag.endswith("/web:1.2.3") for tag in outputs["tags"].splitlines())
    promoted = json.loads(outputs["promotedRefs"])  # image -> its promoted references
    assert promoted == {"web": [f"{auth_project.prod_a.host}/web@{image.digest}"]}
    assert Path(outputs["report"]).is_file()
    (summary,) = [v for v in vso if v.command == "task.uploadsummary"]
    summary_path = Path(summary.message)
    assert summary_path.is_file() and summary_path.suffix == ".md"
    markdown = summary_path.read_text()
    assert markdown.lstrip().startswith("#") and image.digest in markdown
    assert _complete(vso).properties["result"] == "Succeeded"

    # prod-a holds the image: read with the connection's login, as an outsider.
    response = httpx.head(
        f"{auth_project.prod_a.url}/v2/web/manifests/1.2.3",
        auth=("alice", auth_project.password),  # type: ignore[attr-defined]
        headers={"Accept": image.media_type},
        timeout=30,
    )
    assert response.headers.get("Docker-Content-Digest") == image.digest
    _assert_secret_nowhere(auth_project.password, done, env, tmp_path / "calls.jsonl")  # type: ignore[attr-defined]
    assert auth_project.password not in markdown  # type: ignore[attr-defined]


@pytest.mark.usefixtures("node")
def test_a_policy_refusal_fails_the_task_even_with_debug(
    auth_project: Project, tmp_path: Path
) -> None:
    auth_project.seed(user="0")  # runs as root: the non-root rule refuses it
    env = azure_project_env(auth_project, tmp_path, {"command": "promote", "args": "--debug"})
    done = run_task(env, auth_project.root)
    assert done.returncode == 1, done.stdout + done.stderr
    vso = _vso_of(done)
    assert _outputs(vso)["result"] == "refused"
    issues = [v for v in vso if v.command == "task.logissue"]
    assert any(v.properties.get("type") == "error" and "non-root" in v.message for v in issues)
    complete = _complete(vso)
    assert complete.properties["result"] == "Failed"
    assert recorded_calls(tmp_path / "calls.jsonl")[-1]["argv"][4] == "--debug"
    _assert_secret_nowhere(auth_project.password, done, env, tmp_path / "calls.jsonl")  # type: ignore[attr-defined]
    for summary in (v for v in vso if v.command == "task.uploadsummary"):
        assert auth_project.password not in Path(summary.message).read_text()  # type: ignore[attr-defined]


@pytest.mark.usefixtures("node")
def test_a_configuration_error_is_an_issue_at_its_pipeline_line(
    auth_project: Project, tmp_path: Path
) -> None:
    text = auth_project.file.read_text()
    assert "    staging: staging/web\n" in text
    auth_project.file.write_text(text.replace("staging: staging/web", "staging: stagin/web"))
    line = 1 + auth_project.file.read_text().splitlines().index("    staging: stagin/web")
    env = azure_project_env(auth_project, tmp_path, {"command": "run", "stages": "check,promote"})
    done = run_task(env, auth_project.root)
    assert done.returncode == 2, done.stdout + done.stderr
    vso = _vso_of(done)
    issues = [v for v in vso if v.command == "task.logissue"]
    located = [v for v in issues if v.properties.get("sourcepath", "").endswith("pipeline.yml")]
    assert located, issues
    assert located[0].properties["type"] == "error"
    assert int(located[0].properties["linenumber"]) == line
    assert "stagin" in located[0].message
    assert _complete(vso).properties["result"] == "Failed"
    _assert_secret_nowhere(auth_project.password, done, env, tmp_path / "calls.jsonl")  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------
# Azure Container Registry connections: service principal, workload identity, managed identity


class _Entra:
    """Loopback stand-ins for the agent's OIDC endpoint, Entra ID's token endpoint and a
    managed identity endpoint; records what each was asked."""

    def __init__(self, access_token: str, system_token: str, oidc_token: str) -> None:
        self.access_token = access_token
        self.system_token = system_token
        self.oidc_token = oidc_token
        self.requests: list[tuple[str, str, dict[str, list[str]], dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                answer_json(self, status, body)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                params = parse_qs(parts.query) | parse_qs(body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append((method, parts.path, params, headers))
                if parts.path == "/oidc" and method == "POST":
                    if headers.get("authorization") != f"Bearer {outer.system_token}":
                        self._answer(401, {"message": "no"})
                        return
                    self._answer(200, {"oidcToken": outer.oidc_token})
                elif parts.path.endswith("/oauth2/v2.0/token") and method == "POST":
                    if params.get("client_assertion") != [outer.oidc_token]:
                        self._answer(400, {"error": "invalid_client"})
                        return
                    self._answer(200, {"access_token": outer.access_token, "expires_in": 3600})
                elif parts.path == "/msi" and method == "GET":
                    if headers.get("x-identity-header") != "msi-header":
                        self._answer(401, {"message": "no"})
                        return
                    self._answer(200, {"access_token": outer.access_token})
                else:
                    self._answer(404, {"message": parts.path})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def entra_token() -> str:
    return "entra-" + secrets.token_hex(12)


@pytest.fixture
def entra(entra_token: str) -> Iterator[_Entra]:
    server = _Entra(entra_token, "system-" + secrets.token_hex(8), "oidc-" + secrets.token_hex(8))
    yield server
    server.stop()


def _acr_endpoint(scheme: str, login_server: str, **parameters: str) -> Endpoint:
    return Endpoint(
        id="acr-connection-1",
        scheme=scheme,
        url=f"https://{login_server}",
        parameters={"loginServer": login_server, **parameters},
        data={"registrytype": "ACR"},
    )


@pytest.mark.usefixtures("node")
def test_acr_service_principal_is_a_username_and_password(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    python = python_recorder(tmp_path / "python", log)
    key = "sp-key-" + secrets.token_hex(10)
    endpoint = _acr_endpoint(
        "ServicePrincipal",
        "myreg.azurecr.io",
        serviceprincipalid="app-id-1",
        serviceprincipalkey=key,
        tenantid="tenant-1",
    )
    env = agent_env(
        tmp_path, tmp_path, {"pythonPath": str(python), "args": "--help"}, endpoint=endpoint
    )
    done = run_task(env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    call = recorded_calls(log)[-1]
    assert call["env"]["PROMOTER_REGISTRY_MYREG_AZURECR_IO_USERNAME"] == "app-id-1"
    assert call["env"]["PROMOTER_REGISTRY_MYREG_AZURECR_IO_PASSWORD"] == key
    assert any(v.command == "task.setsecret" and v.message == key for v in _vso_of(done))
    _assert_secret_nowhere(key, done, env, log)


@pytest.mark.usefixtures("node")
def test_workload_identity_token_reaches_promoter_in_its_environment(
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
    entra: _Entra,
    entra_token: str,
) -> None:
    """OIDC token from the agent -> Entra ID token (client assertion) -> promoter's
    ``_ENTRA_TOKEN`` -> the registry's /oauth2/exchange: a real copy into a token registry."""
    # The identity an exchanged Entra token stands for: the token server's first user.
    users = {"acr-app": ("no-password-" + secrets.token_hex(8), ("pull", "push"))}
    token_server = TokenServer(users=users, entra_token=entra_token).start(tmp_path / "token")
    try:
        target = registry_factory(
            token=token_server.token_auth_config(realm=f"{token_server.url}/oauth2/token")
        )
        image = make_image(seed="wif", user="1000")
        layout = write_layout(tmp_path / "layout", {"1.0": image})
        log = tmp_path / "calls.jsonl"
        python = python_recorder(tmp_path / "python", log)
        endpoint = _acr_endpoint(
            "WorkloadIdentityFederation",
            target.host,
            serviceprincipalid="client-id-1",
            tenantid="tenant-1",
        )
        env = agent_env(
            tmp_path / "agent",
            tmp_path,
            {
                "pythonPath": str(python),
                "command": "copy",
                "args": f"oci:{layout}:1.0 {target.host}/acr/app:1.0",
            },
            endpoint=endpoint,
            extra={
                "SYSTEM_OIDCREQUESTURI": f"{entra.url}/oidc",
                "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN": entra.system_token,
                "AZURE_AUTHORITY_HOST": entra.url,
            },
        )
        done = run_task(env, tmp_path)
        output = done.stdout + done.stderr
        # The agent's OIDC endpoint, then Entra ID, each asked as the contract says.
        oidc = next(r for r in entra.requests if r[1] == "/oidc")
        assert oidc[2]["serviceConnectionId"] == ["acr-connection-1"]
        assert oidc[2]["api-version"] == ["7.1"]
        token = next(r for r in entra.requests if r[1].endswith("/token"))
        assert token[1] == "/tenant-1/oauth2/v2.0/token"
        assert token[2]["grant_type"] == ["client_credentials"]
        assert token[2]["client_id"] == ["client-id-1"]
        assert token[2]["scope"] == ["https://containerregistry.azure.net/.default"]
        # The Entra token went to promoter in its environment, never its arguments.
        prefix = "PROMOTER_REGISTRY_" + re.sub(r"[^A-Za-z0-9]", "_", target.host).upper()
        call = recorded_calls(log)[-1]
        assert call["env"][prefix + "_ENTRA_TOKEN"] == entra_token
        for secret in (entra_token, entra.oidc_token, entra.system_token):
            _assert_secret_nowhere(secret, done, env, log)
        assert any(
            v.command == "task.setsecret" and v.message == entra_token for v in _vso_of(done)
        )
        # And promoter used it: exchanged at the registry's token server, image copied.
        assert done.returncode == 0, output
        assert "/oauth2/exchange" in [r.path for r in token_server.requests]
        outputs = _outputs(_vso_of(done))
        assert outputs["result"] == "succeeded"
        assert outputs["digest"] == image.digest
    finally:
        token_server.stop()


@pytest.mark.usefixtures("node")
def test_managed_identity_uses_the_identity_endpoint(
    tmp_path: Path, entra: _Entra, entra_token: str
) -> None:
    log = tmp_path / "calls.jsonl"
    python = python_recorder(tmp_path / "python", log)
    endpoint = _acr_endpoint("ManagedServiceIdentity", "myreg.azurecr.io", tenantid="tenant-1")
    env = agent_env(
        tmp_path,
        tmp_path,
        {"pythonPath": str(python), "args": "--help"},
        endpoint=endpoint,
        extra={"IDENTITY_ENDPOINT": f"{entra.url}/msi", "IDENTITY_HEADER": "msi-header"},
    )
    done = run_task(env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (request,) = [r for r in entra.requests if r[1] == "/msi"]
    assert request[2]["resource"] == ["https://containerregistry.azure.net"]
    call = recorded_calls(log)[-1]
    assert call["env"]["PROMOTER_REGISTRY_MYREG_AZURECR_IO_ENTRA_TOKEN"] == entra_token
    _assert_secret_nowhere(entra_token, done, env, log)


# --------------------------------------------------------------------------------------
# Packaging: tfx extension create


def _offline_wheel(directory: Path) -> Path:
    """promoter's wheel without the network: ``pip wheel --no-build-isolation`` when the
    installed setuptools can build pyproject.toml; else a plain wheel of the source tree
    (the package, its data files and a METADATA with its version)."""
    python = str(ROOT / ".venv" / "bin" / "python")
    directory.mkdir(parents=True, exist_ok=True)
    offline = ["--no-deps", "--no-build-isolation", "--no-index", "-w", str(directory)]
    built = subprocess.run(
        [python, "-m", "pip", "wheel", "-q", *offline, str(ROOT)],
        capture_output=True,
        timeout=120,
    )
    found = list(directory.glob("promoter-*.whl"))
    if built.returncode == 0 and found:
        return found[0]
    import base64
    import hashlib

    from promoter import __version__

    wheel = directory / f"promoter-{__version__}-py3-none-any.whl"
    info = f"promoter-{__version__}.dist-info"
    files = {
        str(p.relative_to(ROOT)): p.read_bytes()
        for p in sorted((ROOT / "promoter").rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: promoter\nVersion: {__version__}\n"
    ).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for name, data in files.items()
    ]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


@pytest.mark.usefixtures("node")
def test_package_script_makes_a_vsix_with_the_task(tmp_path: Path) -> None:
    require(None if shutil.which("npm") else "npm not found (Debian package npm)")
    tfx = TASK_DIR / "node_modules" / ".bin" / "tfx"
    require(None if tfx.exists() else f"{tfx} missing: run scripts/bootstrap (npm ci)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "ENDPOINT_"))}
    # Offline: npm from its cache (bootstrap's npm ci filled it), the wheel built here
    # without an index; in a network namespace of its own when this machine allows one.
    env.update(
        {
            "PYTHON": str(ROOT / ".venv" / "bin" / "python"),
            "npm_config_offline": "true",
            "PIP_NO_INDEX": "1",
            "PROMOTER_WHEEL": str(_offline_wheel(tmp_path / "wheel")),
        }
    )
    env["TMPDIR"] = str(tmp_path)
    command = ["bash", str(TASK_DIR / "package.sh"), str(tmp_path / "out")]
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        command = [unshare, "-n", *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in done.stderr.lower(), done.stderr
    (vsix,) = (tmp_path / "out").glob("*.vsix")
    assert done.stdout.strip() == str(vsix)
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        task = json.loads(archive.read("promoter-task/task.json"))
        manifest = archive.read("extension.vsixmanifest").decode()
        assert (
            archive.read("promoter-task/index.js")
            == (TASK_DIR / "promoter-task" / "index.js").read_bytes()
        )
    assert task["id"] == TASK_ID
    assert "promoter-task/lib.js" in names
    assert "promoter-task/node_modules/azure-pipelines-task-lib/task.js" in names
    assert not any(n.startswith("promoter-task/node_modules/tfx-cli/") for n in names)
    assert any(re.fullmatch(r"promoter-task/wheel/promoter-[^/]+\.whl", n) for n in names)
    assert "Microsoft.VisualStudio.Services" in manifest
    assert not list(tmp_path.glob("promoter-task.*"))  # the staging folder is removed
