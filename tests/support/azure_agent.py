"""The Azure Pipelines agent, as far as a Node task sees it: environment in, ``##vso`` out.

``agent_env`` builds the environment the agent gives a task's process: its
inputs as ``INPUT_<NAME>``, a service connection as ``ENDPOINT_URL_<id>``,
``ENDPOINT_AUTH_<id>`` (JSON), ``ENDPOINT_AUTH_SCHEME_<id>``,
``ENDPOINT_AUTH_PARAMETER_<id>_<KEY>`` and ``ENDPOINT_DATA_<id>_<KEY>``, and the
``AGENT_*``, ``SYSTEM_*`` and ``BUILD_*`` variables. ``run_task`` runs the
task under Node.js as the agent does; ``agent_lines`` splits output into lines as
the agent does (LF, CR and CR LF each end a line) and ``parse_vso`` reads back
every logging command as the agent finds it: the first ``##vso[`` anywhere in a
line (any case), ``area.action k=v;...]message``, with the agent's unescaping.
``python_recorder`` writes a stand-in for ``pythonPath`` that records the
arguments and ``PROMOTER_*`` variables of every call, then runs the real Python;
``python_stub`` records the same way and answers with a given output and exit code.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ROOT",
    "TASK_DIR",
    "Endpoint",
    "Vso",
    "agent_env",
    "agent_lines",
    "agent_output",
    "node_missing",
    "parse_vso",
    "python_recorder",
    "python_stub",
    "recorded_calls",
    "run_lib_js",
    "run_task",
]

ROOT = Path(__file__).resolve().parents[2]
TASK_DIR = ROOT / "actions" / "azure-devops"
SHIM = TASK_DIR / "promoter-task" / "index.js"

#: What the agent passes through from its own environment (nothing of CI detection).
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "NODE_OPTIONS")


def node_missing() -> str | None:
    """Why the task cannot run here (None when node and its node_modules are present)."""
    if shutil.which("node") is None:
        return "node not found (Debian package nodejs)"
    if not (TASK_DIR / "node_modules" / "azure-pipelines-task-lib").is_dir():
        return f"{TASK_DIR}/node_modules is missing: run scripts/bootstrap (npm ci)"
    return None


@dataclass
class Endpoint:
    """A service connection as the agent hands it to a task."""

    id: str
    scheme: str
    parameters: Mapping[str, str]
    url: str = ""
    data: Mapping[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {
            f"ENDPOINT_AUTH_{self.id}": json.dumps(
                {"scheme": self.scheme, "parameters": dict(self.parameters)}
            ),
            f"ENDPOINT_AUTH_SCHEME_{self.id}": self.scheme,
        }
        if self.url:
            env[f"ENDPOINT_URL_{self.id}"] = self.url
        for key, value in self.parameters.items():
            env[f"ENDPOINT_AUTH_PARAMETER_{self.id}_{key.upper()}"] = value
        for key, value in self.data.items():
            env[f"ENDPOINT_DATA_{self.id}_{key.upper()}"] = value
        return env


def agent_env(
    temp: Path,
    workdir: Path,
    inputs: Mapping[str, str],
    *,
    endpoint: Endpoint | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of the task's process (``temp``: the agent's temp and tools folders)."""
    import os

    env = {k: v for k, v in os.environ.items() if k in _KEEP}
    (temp / "agent-temp").mkdir(parents=True, exist_ok=True)
    (temp / "agent-tools").mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "TF_BUILD": "True",
            "AGENT_VERSION": "4.264.2",
            "AGENT_TEMPDIRECTORY": str(temp / "agent-temp"),
            "AGENT_TOOLSDIRECTORY": str(temp / "agent-tools"),
            "AGENT_WORKFOLDER": str(temp),
            "SYSTEM_DEFAULTWORKINGDIRECTORY": str(workdir),
            "BUILD_SOURCESDIRECTORY": str(workdir),
            "BUILD_REPOSITORY_PROVIDER": "TfsGit",
            "BUILD_REASON": "IndividualCI",
            "SYSTEM_TEAMPROJECT": "promoter",
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
        }
    )
    for name, value in inputs.items():
        env["INPUT_" + name.upper()] = value
    if endpoint is not None:
        env["INPUT_CONTAINERREGISTRY"] = endpoint.id
        env.update(endpoint.env())
    env.update(extra or {})
    return env


def run_task(
    env: Mapping[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the task's Node entry point as the agent does (Node handler: ``node index.js``)."""
    return subprocess.run(
        ["node", str(SHIM)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Vso:
    """One logging command: ``##vso[area.action properties]message``."""

    command: str
    properties: dict[str, str]
    message: str


_PREFIX = re.compile(r"##vso\[", re.IGNORECASE)
_AREA_EVENT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
#: Names the agent takes for the same command (the task library writes ``task.issue``).
_ALIASES = {"task.issue": "task.logissue"}
_LINE_END = re.compile(r"\r\n|\r|\n")


def _unescape(text: str) -> str:
    # The agent's order: %AZP25 last, so an escaped escape survives.
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%5D", "]")
        .replace("%3B", ";")
        .replace("%AZP25", "%")
    )


def agent_lines(text: str) -> list[str]:
    """``text`` in lines as the agent reads a step's output: LF, CR and CR LF end a line
    (and nothing else: not the other separators ``str.splitlines`` knows)."""
    lines = _LINE_END.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def agent_output(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines the agent reads from a task's stdout and, apart, its stderr."""
    return agent_lines(done.stdout) + agent_lines(done.stderr)


def _command(line: str) -> Vso | None:
    """The logging command the agent finds in ``line``: the first ``##vso[`` only; when
    that one is malformed, the line is plain output (a later one is not looked for)."""
    prefix = _PREFIX.search(line)
    if prefix is None:
        return None
    end = line.find("]", prefix.end())
    if end < 0:
        return None
    info = line[prefix.end() : end].strip()
    name, _, props = info.partition(" ")
    if not _AREA_EVENT.fullmatch(name):
        return None
    properties = {}
    for part in props.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            properties[key.strip()] = _unescape(value)
    name = _ALIASES.get(name.lower(), name.lower())
    return Vso(name, properties, _unescape(line[end + 1 :]))


def parse_vso(lines: Iterable[str]) -> list[Vso]:
    """Every logging command in ``lines`` as the agent finds them (each line is split on
    CR and LF again, as the agent would), unescaped; ``task.issue`` reads as ``task.logissue``."""
    found = []
    for text in lines:
        for line in agent_lines(text):
            command = _command(line)
            if command is not None:
                found.append(command)
    return found


def python_recorder(path: Path, log: Path, python: str = sys.executable) -> Path:
    """A ``pythonPath`` stand-in: appends ``{"argv": [...], "env": {PROMOTER_*}}`` to ``log``
    for every call, then runs ``python`` with the same arguments."""
    path.write_text(
        f"#!{python}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a', encoding='utf-8') as f:\n"
        "    env = {k: v for k, v in os.environ.items() if k.startswith('PROMOTER_')}\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'env': env}) + '\\n')\n"
        f"os.execv({python!r}, [{python!r}, *sys.argv[1:]])\n"
    )
    path.chmod(0o755)
    return path


def python_stub(
    path: Path, log: Path, exit_code: int, *, output: Iterable[tuple[str, str]] = ()
) -> Path:
    """A ``pythonPath`` that imports promoter (a ``-c`` probe exits 0), records every call as
    ``python_recorder`` does, writes ``output`` (``("stdout"|"stderr", text)`` pairs, as they
    are, no newline added) and exits ``exit_code``."""
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a', encoding='utf-8') as f:\n"
        "    env = {k: v for k, v in os.environ.items() if k.startswith('PROMOTER_')}\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'env': env}) + '\\n')\n"
        "if sys.argv[1:2] == ['-c']:\n"
        "    sys.exit(0)\n"
        f"for stream, text in {list(output)!r}:\n"
        "    getattr(sys, stream).write(text)\n"
        "    getattr(sys, stream).flush()\n"
        f"sys.exit({exit_code})\n"
    )
    path.chmod(0o755)
    return path


def recorded_calls(log: Path) -> list[dict[str, Any]]:
    """What ``python_recorder`` wrote: one dict per call."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def run_lib_js(script: str) -> Any:
    """Run ``script`` under Node with the task shim's lib.js as ``lib``; what it prints, as
    JSON (the one way the tests call into lib.js)."""
    lib = TASK_DIR / "promoter-task" / "lib.js"
    code = f"const lib = require({json.dumps(str(lib))});\n{script}"
    done = subprocess.run(["node", "-e", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
