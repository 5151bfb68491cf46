"""The Azure DevOps task and the CI trust boundary: no input becomes an agent command.

An agent acts on the first ``##vso[`` anywhere in a line of a task's output,
renders ``##[error]``, ``##[group]``... and splits lines on CR as well as LF.
Each hostile value below is put in each input the shim shows (its debug lines,
its ``[command]`` line, its console lines, its error messages); the shim runs
under Node.js with the agent's environment and a recording ``pythonPath``
stand-in (so every line read back is the shim's own), and its output is read
back with the stand-in agent parser (``tests.support.azure_agent``). No command
but the ones the shim means (debug, issue, complete) may appear, no line may
carry a second ``##vso[`` or any ``##[``, and the child still receives the value
exactly as given.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.azure_agent import (
    TASK_DIR,
    Endpoint,
    Vso,
    agent_env,
    agent_lines,
    agent_output,
    node_missing,
    parse_vso,
    python_stub,
    recorded_calls,
    run_lib_js,
    run_task,
)
from tests.support.real_parts import require

HOSTILE = {
    "lf-setvariable": "x\n##vso[task.setvariable variable=X]1",
    "cr-prependpath": "x\r##vso[task.prependpath]/evil",
    "inline-setvariable": "x ##vso[task.setvariable variable=X]1",
    "upper-inline": "x ##VSO[task.setvariable variable=X;isOutput=true]1",
    "lf-format": "x\n##[error]spoofed",
    "leading-format": "##[group]spoofed",
    "crlf-both": "x\r\n##[error]a ##vso[task.prependpath]/evil",
}
#: Every input of the task, as task.json declares them (test_azure_task holds that list).
INPUTS = [
    i["name"] for i in json.loads((TASK_DIR / "promoter-task" / "task.json").read_text())["inputs"]
]
#: What the shim itself writes (a connection's password: setsecret); the stand-in child writes nothing.
MEANT = {"task.debug", "task.logissue", "task.complete", "task.setsecret"}
_ANY_COMMAND = re.compile(r"##(?:vso)?\[", re.IGNORECASE)


@pytest.fixture
def node() -> None:
    require(node_missing())


def _assert_no_command_but_the_shims(done: subprocess.CompletedProcess[str]) -> list[Vso]:
    """Read as the agent reads: only the shim's own commands, each at the start of its line;
    nothing in a line or in a command's (unescaped) message that the agent would act on or
    render, and no line break in a message."""
    output = agent_output(done)
    for line in output:
        found = [m.start() for m in _ANY_COMMAND.finditer(line)]
        assert found in ([], [0]), line
        assert not line.startswith("##["), line
        if found:
            assert line.lower().startswith("##vso["), line
    commands = parse_vso(output)
    assert {v.command for v in commands} <= MEANT, commands
    for v in commands:
        shown = [v.message, *v.properties.values()]
        assert not any(_ANY_COMMAND.search(text) for text in shown), v
        assert not any("\r" in text or "\n" in text for text in shown), v
    assert len([v for v in commands if v.command == "task.complete"]) == 1, commands
    return commands


def _place(
    name: str, value: str, tmp_path: Path, log: Path
) -> tuple[dict[str, str], Endpoint | None]:
    """Inputs (and endpoint) that carry ``value`` in input ``name``; each other input keeps
    the run going as far as it can (a directory or a file named ``value`` where one is read)."""
    stub = python_stub(tmp_path / "python", log, 0)
    inputs = {"pythonPath": str(stub), name: value}
    endpoint = None
    if name == "planFile":
        inputs["command"] = "plan"
    elif name == "args":
        inputs["args"] = f"'{value}'"  # one argument, line breaks and all
    elif name == "workingDirectory":
        directory = tmp_path / "work" / value
        directory.mkdir(parents=True)
        inputs[name] = str(directory)
    elif name == "pythonPath":
        path = tmp_path / "py" / value / "python"
        path.parent.mkdir(parents=True)
        inputs[name] = str(python_stub(path, log, 0))
    elif name == "containerRegistry" and "=" not in value:  # a variable name holds no '='
        endpoint = Endpoint(
            id=value,
            scheme="UsernamePassword",
            url="https://127.0.0.1:5000",
            parameters={"username": "u", "password": "p-not-shown", "registry": "127.0.0.1:5000"},
        )
    return inputs, endpoint


@pytest.mark.usefixtures("node")
@pytest.mark.parametrize("name", INPUTS)
@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_no_input_becomes_an_agent_command(name: str, value: str, tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    inputs, endpoint = _place(name, value, tmp_path, log)
    if name == "containerRegistry" and endpoint is None:
        inputs.pop("containerRegistry")
        env = agent_env(tmp_path / "agent", tmp_path, inputs)
        env["INPUT_CONTAINERREGISTRY"] = value  # names no service connection
    else:
        env = agent_env(tmp_path / "agent", tmp_path, inputs, endpoint=endpoint)
    done = run_task(env, tmp_path)

    commands = _assert_no_command_but_the_shims(done)
    # The value was shown (escaped), not dropped: its '##' reads '\u0023#' somewhere.
    assert "\\u0023#" in done.stdout, done.stdout
    complete = next(v for v in commands if v.command == "task.complete")
    if name == "command" or (name == "containerRegistry" and endpoint is None):
        assert done.returncode == 2 and complete.properties["result"] == "Failed"
        assert "bad input" in complete.message
        return
    assert done.returncode == 0, done.stdout + done.stderr
    assert complete.properties["result"] == "Succeeded"
    # The child still gets the input exactly as given.
    argv = recorded_calls(log)[-1]["argv"]
    if name in ("pipeline", "stages", "planFile", "args"):
        assert value in argv, argv
    if name == "images":
        parts = [p.strip() for p in re.split(r"[,\r\n]+", value) if p.strip()]
        assert [a for a in argv[argv.index("--image") :] if a != "--image"][: len(parts)] == parts


@pytest.mark.usefixtures("node")
def test_error_messages_that_quote_inputs_stay_on_their_line(tmp_path: Path) -> None:
    """The shim's own failures quote what it was given: a missing ``pythonPath``, a
    ``pythonPath`` that imports nothing, an unknown ``command``; each failure is one issue
    and one result, the value shown escaped in both."""
    value = HOSTILE["crlf-both"]
    bare = tmp_path / "bare" / value / "python"
    bare.parent.mkdir(parents=True)
    bare.write_text("#!/bin/sh\nexit 1\n")
    bare.chmod(0o755)
    for inputs in (
        {"pythonPath": str(tmp_path / "missing" / value)},
        {"pythonPath": str(bare)},
        {"pythonPath": str(python_stub(tmp_path / "python", tmp_path / "c", 0)), "command": value},
    ):
        done = run_task(agent_env(tmp_path / "agent", tmp_path, inputs), tmp_path)
        commands = _assert_no_command_but_the_shims(done)
        assert done.returncode == 2, done.stdout + done.stderr
        (complete,) = [v for v in commands if v.command == "task.complete"]
        assert complete.properties["result"] == "Failed"
        (issue,) = [v for v in commands if v.command == "task.logissue"]
        assert issue.message == complete.message and "bad input" in issue.message
        assert "\\u0023#" in issue.message, issue.message


@pytest.mark.usefixtures("node")
def test_the_shims_lines_start_a_line_after_promoters_unfinished_ones(tmp_path: Path) -> None:
    """promoter's stdout and stderr each end without a newline: the shim's result still
    starts its own line, and neither stream's text is glued to the other's."""
    output = [("stdout", "half a line on stdout"), ("stderr", "half a line on stderr")]
    python = python_stub(tmp_path / "python", tmp_path / "calls", 1, output=output)
    done = run_task(agent_env(tmp_path / "agent", tmp_path, {"pythonPath": str(python)}), tmp_path)
    assert done.returncode == 1
    lines = agent_lines(done.stdout)
    assert "half a line on stdout" in lines and "half a line on stderr" in lines, lines
    (complete,) = [v for v in parse_vso(lines) if v.command == "task.complete"]
    assert complete.properties["result"] == "Failed"
    assert lines[-1].startswith("##vso[task.complete ")


@pytest.mark.usefixtures("node")
def test_promoters_commands_are_passed_on_whole_and_its_issues_as_task_issue(
    tmp_path: Path,
) -> None:
    """A command split over two writes stays one line; ``task.logissue`` is passed on as the
    task library's ``task.issue`` with the same properties and message; CR splits lines."""
    issue = "##vso[task.logissue type=error;sourcepath=/w/pipeline.yml;linenumber=3]a %AZP25 b"
    output = [
        ("stderr", issue[:20]),
        ("stderr", issue[20:] + "\n"),
        ("stdout", "progress 1\rprogress 2\n"),
        ("stderr", "##vso[task.complete result=Failed;]promoter: refused (exit 1)\n"),
    ]
    python = python_stub(tmp_path / "python", tmp_path / "calls", 1, output=output)
    done = run_task(agent_env(tmp_path / "agent", tmp_path, {"pythonPath": str(python)}), tmp_path)
    assert done.returncode == 1
    assert "##vso[task.issue type=error;sourcepath=/w/pipeline.yml;linenumber=3;]a %AZP25 b" in (
        agent_lines(done.stdout)
    )
    assert "progress 1" in agent_lines(done.stdout)
    commands = parse_vso(agent_output(done))
    (logged,) = [v for v in commands if v.command == "task.logissue"]
    assert logged.properties == {
        "type": "error",
        "sourcepath": "/w/pipeline.yml",
        "linenumber": "3",
    }
    assert logged.message == "a % b"
    (complete,) = [v for v in commands if v.command == "task.complete"]
    assert complete.message == "promoter: refused (exit 1)"  # promoter's own, left alone


@pytest.mark.usefixtures("node")
def test_one_line_escapes() -> None:
    cases = {
        "a\r\nb": "a\\r\\nb",
        "x ##vso[task.setvariable variable=X]1": "x \\u0023#vso[task.setvariable variable=X]1",
        "##VSO[a.b]##[error]e": "\\u0023#VSO[a.b]\\u0023#[error]e",
        "\x1b[31m\u2028\x85\tok": "\\x1b[31m\\u2028\\x85\tok",
        "# ## #vso[ ##vso ##x[": "# ## #vso[ ##vso ##x[",
    }
    got = run_lib_js(
        f"process.stdout.write(JSON.stringify({json.dumps(list(cases))}.map(lib.oneLine)))"
    )
    assert got == list(cases.values())


@pytest.mark.usefixtures("node")
def test_agent_lines_split_as_the_agent_does_across_chunks() -> None:
    """LF, CR and CR LF end a line, a CR LF split over two chunks is one end, UTF-8 split
    over two chunks is one character, and the last unfinished line gets an end."""
    chunks = [[0x61, 0x0D], [0x0A, 0x62, 0x0D, 0x63, 0xE2], [0x82, 0xAC, 0x0A, 0x64]]
    got = run_lib_js(
        "const out = []; const s = new lib.AgentLines((l, e) => out.push([l, e]));"
        f"for (const c of {json.dumps(chunks)}) s.push(Buffer.from(c)); s.end();"
        "process.stdout.write(JSON.stringify(out));"
    )
    assert got == [["a", "\r\n"], ["b", "\r"], ["c\u20ac", "\n"], ["d", "\n"]]


def test_the_stand_in_agent_parser_follows_the_agents_rules() -> None:
    """The first ``##vso[`` of a line, anywhere and in any case; CR ends a line; a
    malformed first command makes the line plain output; ``task.issue`` is ``task.logissue``."""
    lines = [
        "text ##VSO[task.setvariable variable=X]1 ##vso[task.prependpath]/evil",
        "a\r##vso[task.prependpath]/p",
        "##vso[nodot]x ##vso[task.setvariable variable=Y]2",
        "##vso[task.issue type=error;]m%0Aore",
    ]
    got = [(v.command, v.properties, v.message) for v in parse_vso(lines)]
    assert got == [
        ("task.setvariable", {"variable": "X"}, "1 ##vso[task.prependpath]/evil"),
        ("task.prependpath", {}, "/p"),
        ("task.logissue", {"type": "error"}, "m\nore"),
    ]
    assert agent_lines("a\r\nb\rc\nd\x0be\u2028f") == ["a", "b", "c", "d\x0be\u2028f"]
