"""A stand-in for the GitHub Actions runner executing a composite action (``action.yml``).

It runs the action's ``run:`` steps as the runner does:

- each step's script is written to a file and run by its ``shell``
  (bash: ``bash --noprofile --norc -eo pipefail {0}``), in the step's
  ``working-directory`` (relative to ``GITHUB_WORKSPACE``), with the step's
  ``env:`` over the job's environment;
- every step gets fresh ``GITHUB_OUTPUT``, ``GITHUB_ENV``, ``GITHUB_PATH``,
  ``GITHUB_STEP_SUMMARY`` files, read back after it (``name=value`` and
  ``name<<DELIMITER`` forms); ``GITHUB_ENV``/``GITHUB_PATH`` carry to later steps;
- ``${{ }}`` expressions are evaluated in ``with:``, ``env:``, ``run:``,
  ``working-directory`` and ``name``, and ``if:`` conditions (implicitly
  ``success() && (...)``), over the ``inputs``, ``steps``, ``github``,
  ``runner`` and ``env`` contexts; operators ``! && || == != < <= > >=``,
  string, number, boolean and null literals, ``format``, ``contains``,
  ``startsWith``, ``endsWith``, ``join``, ``success``, ``failure``,
  ``always``, ``cancelled``;
- ``uses:`` steps must be pinned to a 40-hex commit with a ``# vX.Y.Z``
  comment, and are stood in for: ``actions/setup-python`` answers
  ``python-path`` and ``python-version`` of a local interpreter,
  ``actions/cache`` answers ``cache-hit`` (true once the key was saved by an
  earlier job of the same runner: the post step saves it when the key missed);
- workflow commands (``::name k=v,...::message``) on stdout and stderr are
  parsed with the runner's unescaping; the action's ``outputs:`` are resolved last.

Every byte a step printed is kept (``StepResult.log``, stdout and stderr
merged as in the job log) so tests can search it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ActionResult",
    "CompositeRunner",
    "ExpressionError",
    "StepResult",
    "UnpinnedAction",
    "WorkflowCommand",
    "evaluate",
    "parse_file_command",
    "parse_workflow_command",
    "pinned_uses",
    "read_log_commands",
    "substitute",
]

SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "sh": ["sh", "-e", "{0}"],
    "python": [sys.executable, "{0}"],
}
_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
_VERSION_COMMENT = re.compile(r"^\s+#\s*v\d+\.\d+\.\d+\s*$")


class ExpressionError(ValueError):
    """An expression this stand-in (or the runner) cannot evaluate."""


class UnpinnedAction(ValueError):
    """A ``uses:`` that is not ``owner/repo@<40-hex> # vX.Y.Z``."""


# -- expressions -----------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>&&|\|\||==|!=|<=|>=|[<>!()\[\],.*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r} in {text!r}")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind or "")
        if kind == "str":
            out.append(("lit", value[1:-1].replace("''", "'")))
        elif kind == "num":
            out.append(("lit", float(value) if "." in value else int(value)))
        elif kind == "name" and value in ("true", "false", "null"):
            out.append(("lit", {"true": True, "false": False, "null": None}[value]))
        else:
            out.append((kind or "", value))
    return out


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(int(text, 0)) if text.lower().startswith(("0x", "0o")) else float(text)
        except ValueError:
            return float("nan")
    return float("nan")


def truthy(value: Any) -> bool:
    """The runner's truthiness: false, 0, '', null and NaN are false."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == value and value != 0
    return True


def to_text(value: Any) -> str:
    """How a value is put into a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) and not isinstance(left, (int, float)):
        return bool(left == right)
    return _number(left) == _number(right)


def _format(template: Any, *args: Any) -> str:
    text, out, i = to_text(template), [], 0
    while i < len(text):
        if text.startswith("{{", i) or text.startswith("}}", i):
            out.append(text[i])
            i += 2
        elif text[i] == "{":
            end = text.index("}", i)
            out.append(to_text(args[int(text[i + 1 : end])]))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_equal(item, needle) for item in haystack)
    return to_text(needle).casefold() in to_text(haystack).casefold()


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], status: Mapping[str, bool]):
        self.tokens = _tokens(text)
        self.pos = 0
        self.contexts = contexts
        self.status = status
        self.text = text

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, Any]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'more'} in {self.text!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()} in {self.text!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        token = self.peek()
        while token is not None and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            right = self.unary()
            if op == "==":
                value = _equal(value, right)
            elif op == "!=":
                value = not _equal(value, right)
            else:
                a, b = _number(value), _number(right)
                value = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
            token = self.peek()
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "lit":
            return value
        if (kind, value) == ("op", "("):
            inner = self.or_()
            self.take(")")
            return inner
        if kind != "name":
            raise ExpressionError(f"unexpected {value!r} in {self.text!r}")
        if self.peek() == ("op", "("):
            return self.call(value)
        if value not in self.contexts:
            raise ExpressionError(f"unknown context {value!r} in {self.text!r}")
        result: Any = self.contexts[value]
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            result = _member(result, key)
        return result

    def call(self, name: str) -> Any:
        self.take("(")
        args: list[Any] = []
        while self.peek() != ("op", ")"):
            args.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        functions: dict[str, Callable[..., Any]] = {
            "format": _format,
            "contains": _contains,
            "startswith": lambda a, b: to_text(a).casefold().startswith(to_text(b).casefold()),
            "endswith": lambda a, b: to_text(a).casefold().endswith(to_text(b).casefold()),
            "join": lambda a, sep=",": (
                to_text(sep).join(to_text(x) for x in a) if isinstance(a, list) else to_text(a)
            ),
            "tojson": lambda a: json.dumps(a, indent=2),
            "success": lambda: self.status["success"],
            "failure": lambda: not self.status["success"],
            "always": lambda: True,
            "cancelled": lambda: False,
        }
        function = functions.get(name.lower())
        if function is None:
            raise ExpressionError(f"unknown function {name}() in {self.text!r}")
        return function(*args)


def _member(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        wanted = to_text(key).casefold()
        for name, item in value.items():
            if str(name).casefold() == wanted:
                return item
        return None
    if isinstance(value, list) and isinstance(key, (int, float)):
        index = int(key)
        return value[index] if 0 <= index < len(value) else None
    return None


_STATUS = re.compile(r"\b(success|failure|always|cancelled)\s*\(", re.IGNORECASE)


def evaluate(
    text: str, contexts: Mapping[str, Any], status: Mapping[str, bool] | None = None
) -> Any:
    """The value of one expression (without ``${{ }}``)."""
    return _Parser(text, contexts, status or {"success": True}).parse()


def substitute(text: str, contexts: Mapping[str, Any]) -> str:
    """``text`` with every ``${{ expression }}`` replaced by its value."""
    out, pos = [], 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            out.append(text[pos:])
            return "".join(out)
        end = _closing(text, start + 3)
        out.append(text[pos:start])
        out.append(to_text(evaluate(text[start + 3 : end], contexts)))
        pos = end + 2


def _closing(text: str, pos: int) -> int:
    quoted = False
    while pos < len(text) - 1:
        if text[pos] == "'":
            quoted = not quoted
        elif not quoted and text.startswith("}}", pos):
            return pos
        pos += 1
    raise ExpressionError(f"unclosed ${{{{ in {text!r}")


def condition(text: str, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> bool:
    """An ``if:``: ``success() && (...)`` unless it calls a status function itself."""
    expression = text.strip()
    if expression.startswith("${{") and expression.endswith("}}"):
        expression = expression[3:-2]
    if not _STATUS.search(expression):
        expression = f"success() && ({expression})"
    return truthy(evaluate(expression, contexts, status))


# -- workflow commands and file commands -------------------------------------------------


@dataclass(frozen=True)
class WorkflowCommand:
    """``::name key=value,...::message``, unescaped."""

    name: str
    properties: Mapping[str, str]
    message: str
    line: str
    step: str = ""


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def parse_workflow_command(line: str, step: str = "") -> WorkflowCommand | None:
    """The command on ``line`` (the runner also finds one after leading spaces), or None."""
    text = line.rstrip("\r\n").lstrip()
    if not text.startswith("::"):
        return None
    end = text.find("::", 2)
    if end < 0:
        return None
    head, message = text[2:end], text[end + 2 :]
    name, _, props = head.partition(" ")
    properties: dict[str, str] = {}
    for item in props.split(","):
        if "=" in item:
            key, _, value = item.partition("=")
            properties[key.strip()] = _unescape_property(value)
    return WorkflowCommand(name, properties, _unescape_data(message), text, step)


_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_LEGACY = re.compile(r"##\[(?P<name>[^\s\]]+)(?:\s+(?P<props>[^\]]*))?\](?P<message>.*)", re.I)


def read_log_commands(text: str, step: str = "") -> list[WorkflowCommand]:
    """Every command a runner acts on in a step's output, by the runner's rules.

    Lines end at CR, LF or CRLF (a .NET ``ReadLine``). A line is a command when it
    starts with ``::`` after leading spaces, or (the legacy form) holds ``##[name
    key=value;...]message`` anywhere. After ``::stop-commands::TOKEN`` nothing is a
    command until the line ``::TOKEN::``.
    """
    found: list[WorkflowCommand] = []
    stopped = ""
    for line in _LINE_ENDS.split(text):
        command = parse_workflow_command(line, step)
        if command is None:
            legacy = _LEGACY.search(line)
            if legacy is not None:
                properties = {}
                for item in (legacy["props"] or "").split(";"):
                    if "=" in item:
                        key, _, value = item.partition("=")
                        properties[key.strip()] = value
                command = WorkflowCommand(
                    legacy["name"].lower(), properties, legacy["message"], line, step
                )
        if command is None:
            continue
        if stopped:
            if command.name == stopped:
                stopped = ""
            continue
        if command.name == "stop-commands":
            stopped = command.message
            continue
        found.append(command)
    return found


def parse_file_command(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT``/``GITHUB_ENV``: ``name=value`` and ``name<<DELIM ... DELIM``."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if not line:
            continue
        heredoc = line.find("<<")
        equals = line.find("=")
        if heredoc > 0 and (equals < 0 or heredoc < equals):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            body: list[str] = []
            while True:
                if i >= len(lines):
                    raise ValueError(f"{name}: the delimiter {delimiter!r} never comes")
                current = lines[i].rstrip("\r")
                i += 1
                if current == delimiter:
                    break
                body.append(current)
            values[name] = "\n".join(body)
        elif equals > 0:
            values[line[:equals]] = line[equals + 1 :]
        else:
            raise ValueError(f"not a file command line: {line!r}")
    return values


def pinned_uses(action_text: str) -> list[str]:
    """Every ``uses:`` of a YAML file; UnpinnedAction for one not pinned by commit + version."""
    found = []
    for line in action_text.splitlines():
        match = _USES_LINE.match(line)
        if not match:
            continue
        ref, rest = match.group("ref").strip("'\""), match.group("rest")
        if ref.startswith(("./", "docker://")):
            found.append(ref)
            continue
        if not _PINNED.match(ref) or not _VERSION_COMMENT.match(rest):
            raise UnpinnedAction(f"not pinned by commit with a '# vX.Y.Z' comment: {line.strip()}")
        found.append(ref)
    return found


# -- the runner --------------------------------------------------------------------------


@dataclass
class StepResult:
    """One step as it ran (or was skipped)."""

    index: int
    id: str
    name: str
    uses: str = ""
    skipped: bool = False
    exit_code: int = 0
    log: bytes = b""
    outputs: dict[str, str] = field(default_factory=dict)
    commands: list[WorkflowCommand] = field(default_factory=list)
    with_: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        if self.skipped:
            return "skipped"
        return "success" if self.exit_code == 0 else "failure"


@dataclass
class ActionResult:
    """What the composite action left: exit code, outputs, summary, log and commands."""

    exit_code: int
    outputs: dict[str, str]
    steps: list[StepResult]
    summary: str
    files: list[Path]

    def step(self, step_id: str) -> StepResult:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def log(self) -> bytes:
        return b"".join(s.log for s in self.steps)

    @property
    def commands(self) -> list[WorkflowCommand]:
        return [c for s in self.steps for c in s.commands]

    def annotations(self, level: str = "error") -> list[WorkflowCommand]:
        return [c for c in self.commands if c.name == level]

    @property
    def masks(self) -> list[str]:
        return [c.message for c in self.commands if c.name == "add-mask"]


UsesHandler = Callable[["CompositeRunner", Mapping[str, str]], dict[str, str]]


def _python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


class CompositeRunner:
    """One job's runner for a composite action folder (``action.yml`` in ``action_dir``).

    ``python`` is what ``actions/setup-python`` answers; the cache keys saved
    by earlier runs live in ``saved_cache_keys`` (the job's post step saves a
    missed key, as ``actions/cache`` does).
    """

    def __init__(
        self,
        action_dir: Path,
        *,
        workspace: Path,
        runner_temp: Path,
        base_env: Mapping[str, str],
        python: str,
        timeout: float = 600,
    ) -> None:
        self.action_dir = action_dir
        self.text = (action_dir / "action.yml").read_text(encoding="utf-8")
        self.action = yaml.safe_load(self.text)
        pinned_uses(self.text)
        self.workspace = workspace
        self.runner_temp = runner_temp
        self.base_env = dict(base_env)
        self.python = python
        self.timeout = timeout
        self.saved_cache_keys: set[str] = set()
        self.cache_calls: list[dict[str, str]] = []
        self.handlers: dict[str, UsesHandler] = {
            "actions/setup-python": CompositeRunner._setup_python,
            "actions/cache": CompositeRunner._cache,
        }

    # -- stand-ins for uses: -----------------------------------------------------------
    def _setup_python(self, with_: Mapping[str, str]) -> dict[str, str]:
        version = _python_version(self.python)
        wanted = with_.get("python-version", "")
        if with_.get("update-environment", "true").lower() != "false":
            raise AssertionError("setup-python must be used with update-environment: false")
        return {"python-path": self.python, "python-version": version, "requested": wanted}

    def _cache(self, with_: Mapping[str, str]) -> dict[str, str]:
        self.cache_calls.append(dict(with_))
        key = with_.get("key", "")
        if not key or not with_.get("path"):
            raise AssertionError(f"actions/cache needs path and key: {dict(with_)}")
        return {"cache-hit": "true" if key in self.saved_cache_keys else "false"}

    # -- running -----------------------------------------------------------------------
    def run(
        self,
        inputs: Mapping[str, str],
        env: Mapping[str, str] | None = None,
        workspace: Path | None = None,
    ) -> ActionResult:
        """Run the action once with ``inputs`` (an undeclared input is an error here).

        ``env`` is the job's environment over ``base_env``; ``workspace`` the
        checkout (``GITHUB_WORKSPACE``) for this run.
        """
        if workspace is not None:
            self.workspace = workspace
        declared = self.action.get("inputs") or {}
        unknown = set(inputs) - set(declared)
        if unknown:
            raise AssertionError(f"inputs the action does not declare: {sorted(unknown)}")
        values = {
            name: str(inputs.get(name, (spec or {}).get("default", "")))
            for name, spec in declared.items()
        }
        job_env = {
            **self.base_env,
            **(env or {}),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_ACTION_PATH": str(self.action_dir),
            "RUNNER_TEMP": str(self.runner_temp),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
        }
        for name, value in values.items():
            job_env["INPUT_" + name.replace(" ", "_").upper()] = value
        steps_context: dict[str, Any] = {}
        contexts: dict[str, Any] = {
            "inputs": values,
            "steps": steps_context,
            "github": {
                "action_path": str(self.action_dir),
                "workspace": str(self.workspace),
                "event_name": "push",
            },
            "runner": {"temp": str(self.runner_temp), "os": "Linux", "arch": "X64"},
            "env": job_env,
        }
        files_dir = self.runner_temp / "_runner_file_commands"
        files_dir.mkdir(parents=True, exist_ok=True)
        results: list[StepResult] = []
        summary: list[str] = []
        files: list[Path] = []
        status = {"success": True}
        failed_code = 0
        for index, step in enumerate(self.action["runs"]["steps"]):
            step_id = str(step.get("id") or f"__{index}")
            result = StepResult(index, step_id, substitute(str(step.get("name", "")), contexts))
            results.append(result)
            if not condition(str(step.get("if", "success()")), contexts, status):
                result.skipped = True
            elif "uses" in step:
                self._run_uses(step, result, contexts)
            else:
                self._run_script(step, result, contexts, job_env, files_dir, summary, files)
            if result.exit_code != 0 and status["success"]:
                status["success"] = False
                failed_code = result.exit_code
            steps_context[step_id] = {
                "outputs": result.outputs,
                "outcome": result.outcome,
                "conclusion": result.outcome,
            }
        # The post step of actions/cache: a key that missed is saved when the job succeeded.
        if status["success"]:
            for call in self.cache_calls:
                self.saved_cache_keys.add(call["key"])
        outputs = {
            name: substitute(str((spec or {}).get("value", "")), contexts)
            for name, spec in (self.action.get("outputs") or {}).items()
        }
        return ActionResult(failed_code, outputs, results, "".join(summary), files)

    def _run_uses(self, step: Mapping[str, Any], result: StepResult, contexts: Any) -> None:
        uses = str(step["uses"])
        result.uses = uses
        name = uses.split("@", 1)[0]
        if not _PINNED.match(uses):
            raise UnpinnedAction(uses)
        handler = self.handlers.get(name)
        if handler is None:
            raise AssertionError(f"no stand-in for {uses}")
        result.with_ = {
            k: substitute(str(v), contexts) for k, v in (step.get("with") or {}).items()
        }
        result.outputs = handler(self, result.with_)

    def _run_script(
        self,
        step: Mapping[str, Any],
        result: StepResult,
        contexts: Mapping[str, Any],
        job_env: dict[str, str],
        files_dir: Path,
        summary: list[str],
        files: list[Path],
    ) -> None:
        shell = str(step.get("shell", ""))
        if shell not in SHELLS:
            raise AssertionError(f"step {result.id}: composite run steps need a known shell")
        script = substitute(str(step["run"]), contexts)
        token = uuid.uuid4().hex
        script_path = self.runner_temp / f"{token}.sh"
        script_path.write_text(script, encoding="utf-8")
        file_commands = {
            name: files_dir / f"{name.lower()}_{token}"
            for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
        }
        for path in file_commands.values():
            path.touch()
        files.extend([script_path, *file_commands.values()])
        step_env = {k: substitute(str(v), contexts) for k, v in (step.get("env") or {}).items()}
        result.env = step_env
        env = {**job_env, **step_env, **{k: str(v) for k, v in file_commands.items()}}
        cwd = self.workspace
        if step.get("working-directory"):
            cwd = self.workspace / substitute(str(step["working-directory"]), contexts)
        argv = [part.replace("{0}", str(script_path)) for part in SHELLS[shell]]
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=self.timeout,
            check=False,
        )
        result.exit_code = done.returncode
        result.log = done.stdout
        result.commands += read_log_commands(done.stdout.decode("utf-8", "replace"), result.id)
        result.outputs = parse_file_command(file_commands["GITHUB_OUTPUT"].read_text("utf-8"))
        job_env.update(parse_file_command(file_commands["GITHUB_ENV"].read_text("utf-8")))
        added = [p for p in file_commands["GITHUB_PATH"].read_text("utf-8").splitlines() if p]
        if added:
            job_env["PATH"] = os.pathsep.join([*reversed(added), job_env.get("PATH", "")])
        summary.append(file_commands["GITHUB_STEP_SUMMARY"].read_text("utf-8"))
