"""Reading a step's output as a CI service reads it, for hostile text: the marker, the
hostile forms, and the check that no command carries the marker (see
tests/ci/test_untrusted_text.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.actions_runner import read_log_commands
from tests.support.azure_agent import parse_vso
from tests.support.cli import run_cli

__all__ = ["FORMS", "MARK", "SERVICES", "assert_steers_nothing", "injected", "service_env"]

MARK = "PWNED"

#: Each form a service obeys. Every injected command carries MARK where the reader sees it.
FORMS = {
    "lf": f"x\n::set-output name={MARK}::1\n::add-mask::{MARK}\n##vso[task.setvariable variable={MARK}]1",
    "cr": f"x\r::set-env name={MARK}::1\r##vso[task.prependpath]{MARK}\r::error::{MARK}",
    "inline": f"x ##vso[task.setvariable variable={MARK}]1 ##[set-output name={MARK};]1",
    "format": f"##[error]{MARK} ##[group]{MARK}",
}

SERVICES = ("github", "azure-devops")
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_AZURE_FORMAT = re.compile(r"##\[(?P<name>[a-z]+)\](?P<message>.*)", re.IGNORECASE)


#: Properties that only say where an annotation points or what it is titled: a hostile
#: file name may show there, escaped, in promoter's own annotation.
_WHERE = ("file", "sourcepath", "title")


def _steering(properties: dict[str, str]) -> dict[str, str]:
    """The properties that choose what a command does (a variable's name, an output's)."""
    return {k: v for k, v in properties.items() if k.lower() not in _WHERE}


def azure_commands(text: str) -> list[tuple[str, str]]:
    """What an Azure DevOps agent acts on: the first ``##vso[`` anywhere in a line, and
    ``##[name]`` formatting anywhere; lines end at CR and LF. (name+properties, message)."""
    found = []
    lines = _LINE_ENDS.split(text)
    for vso in parse_vso(lines):
        found.append((f"{vso.command} {_steering(vso.properties)}", vso.message))
    for line in lines:
        for match in _AZURE_FORMAT.finditer(line):
            found.append((match["name"], match["message"]))
    return found


def injected(service: str, text: str) -> list[str]:
    """The commands in ``text`` that carry the marker: what the hostile text made."""
    if service == "github":
        commands = [
            (f"{c.name} {_steering(c.properties)}", c.message) for c in read_log_commands(text)
        ]  # fmt: skip
    else:
        commands = azure_commands(text)
    return [f"{head} :: {message[:60]}" for head, message in commands
            if MARK in head or message.startswith(MARK)]  # fmt: skip


def service_env(service: str, tmp: Path) -> dict[str, str]:
    """A runner's (agent's) step environment, outputs and summary in ``tmp``."""
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8"}
    temp = tmp / "runner-temp"
    temp.mkdir(exist_ok=True)
    if service == "github":
        for name in ("output", "summary"):
            (tmp / name).write_text("")
        return {
            **base,
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(tmp),
            "GITHUB_OUTPUT": str(tmp / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp / "summary"),
            "RUNNER_TEMP": str(temp),
        }
    return {**base, "TF_BUILD": "True", "AGENT_TEMPDIRECTORY": str(temp)}


def assert_steers_nothing(service: str, args: list[str], tmp: Path, **env: str) -> str:
    """Run promoter with ``args`` on ``service``; nothing in its output is a hostile command,
    and the marker is shown (so the hostile text did reach the output). The output."""
    done = run_cli(args, cwd=tmp, env={**service_env(service, tmp), **env}, timeout=120)
    output = done.stdout + done.stderr
    assert injected(service, done.stdout) == [], done.stdout
    assert injected(service, done.stderr) == [], done.stderr
    assert MARK in output, output
    assert "internal error" not in output
    if "--output" in args and args[args.index("--output") + 1] in ("json", "sarif"):
        document = json.loads(done.stdout)  # still one valid document
        assert MARK in json.dumps(document, ensure_ascii=False)
    return output
