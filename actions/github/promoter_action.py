"""The steps of promoter's GitHub Action, run with the interpreter setup-python gives.

Three subcommands, one per step of ``action.yml``:

``prepare``  where the action's private virtual environment lives, the cache key
             of what it must hold (Python, platform, the dependency lock and
             promoter's own source), and whether it already holds exactly that
             (``ready``: a second use in the same job installs nothing).
``install``  make that environment: venv, then ``pip install`` of the action's
             own checkout constrained by ``requirements.lock``; writes the marker.
``run``      build promoter's command line from the inputs and run it; the step
             ends with promoter's exit code. promoter itself writes the step
             outputs, the job summary and the annotations (``--ci github``).

Inputs come through the environment (``INPUT_*``, set in ``action.yml``'s
``env:``), never through ``${{ }}`` inside a script, and user text is split
with ``shlex`` and passed as arguments: it is never run by a shell.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

COMMANDS = ("run", "plan", "apply", "check", "promote", "copy", "rollback", "prune")
#: promoter's options that belong before the command (the group's own).
GLOBAL_FLAGS = ("--debug",)
MARKER = ".promoter-action"
LOCK = "requirements.lock"
#: Bumped when the layout of the environment changes, to retire old caches.
LAYOUT = "1"
#: What of the checkout makes up the installed package.
SOURCE_FILES = ("pyproject.toml", "README.md")
SOURCE_TREE = "promoter"
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


class ActionError(Exception):
    """A wrong input: reported as a workflow error, exit 2 (promoter's "bad input")."""


def _command(line: str) -> None:
    """A workflow command, on stderr as promoter writes its own."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _set_output(name: str, value: str) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    delimiter = "promoter_" + hashlib.sha256(os.urandom(16)).hexdigest()[:24]
    with open(path, "a", encoding="utf-8") as file:
        file.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ActionError(f"{name} is not set (the action's step sets it)")
    return value


# -- prepare -------------------------------------------------------------------------


def _source_files(root: Path) -> Iterator[Path]:
    for name in SOURCE_FILES:
        if (root / name).is_file():
            yield root / name
    for dirpath, dirnames, filenames in os.walk(root / SOURCE_TREE):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for filename in sorted(filenames):
            if not filename.endswith(".pyc"):
                yield Path(dirpath, filename)


def source_digest(root: Path) -> str:
    """sha256 over promoter's source in ``root`` (names and contents)."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def environment_key(env: Mapping[str, str], action_path: Path) -> tuple[str, Path]:
    """The cache key of the environment, and the folder it lives in."""
    root = action_path.parent.parent
    lock = hashlib.sha256((action_path / LOCK).read_bytes()).hexdigest()
    python = platform.python_version()
    runner_os = env.get("RUNNER_OS") or platform.system()
    arch = env.get("RUNNER_ARCH") or platform.machine()
    content = f"{LAYOUT}|{python}|{lock}|{source_digest(root)}"
    folder = (
        Path(_required(env, "RUNNER_TEMP"))
        / "promoter-action"
        / (hashlib.sha256(content.encode()).hexdigest()[:16])
    )
    # The interpreter's and the folder's paths are in the key too: a venv only
    # works where it was made.
    whole = f"{content}|{sys.executable}|{folder}"
    key = f"promoter-{runner_os}-{arch}-py{python}-{hashlib.sha256(whole.encode()).hexdigest()}"
    return key, folder


def _ready(venv: Path, key: str) -> bool:
    marker = venv / MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8").strip() == key


def prepare(env: Mapping[str, str]) -> int:
    action_path = Path(_required(env, "PROMOTER_ACTION_PATH"))
    key, venv = environment_key(env, action_path)
    ready = _ready(venv, key)
    _set_output("venv", str(venv))
    _set_output("key", key)
    _set_output("ready", "true" if ready else "false")
    print(f"promoter environment: {venv} ({'ready' if ready else 'to install'})")
    return 0


# -- install -------------------------------------------------------------------------


def _bin(venv: Path, name: str) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / f"{name}.exe"
    return venv / "bin" / name


def install(env: Mapping[str, str]) -> int:
    action_path = Path(_required(env, "PROMOTER_ACTION_PATH"))
    venv = Path(_required(env, "PROMOTER_VENV"))
    key = _required(env, "PROMOTER_KEY")
    if _ready(venv, key):
        print(f"promoter environment restored: {venv}")
        return 0
    shutil.rmtree(venv, ignore_errors=True)
    root = action_path.parent.parent
    _command("::group::Install promoter")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        with tempfile.TemporaryDirectory(prefix="promoter-src-", dir=venv.parent) as tmp:
            # A copy: building in the action's own checkout would leave build/
            # and *.egg-info there.
            source = Path(tmp) / "promoter"
            source.mkdir()
            for name in SOURCE_FILES:
                if (root / name).is_file():
                    shutil.copy2(root / name, source / name)
            shutil.copytree(root / SOURCE_TREE, source / SOURCE_TREE, ignore=SKIPPED)
            pip = [str(_bin(venv, "python")), "-m", "pip", "--disable-pip-version-check"]
            subprocess.run(
                [*pip, "install", "--no-input", "-c", str(action_path / LOCK), str(source)],
                check=True,
            )
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(venv, ignore_errors=True)
        raise
    finally:
        _command("::endgroup::")
    (venv / MARKER).write_text(key + "\n", encoding="utf-8")
    return 0


# -- run -----------------------------------------------------------------------------


def _list(text: str) -> list[str]:
    """``images``: comma- or newline-separated names."""
    return [item.strip() for item in text.replace("\n", ",").split(",") if item.strip()]


def _ignored(inputs: Mapping[str, str], names: tuple[str, ...], command: str) -> None:
    for name in names:
        if inputs.get(name, "").strip():
            message = _escape(f"{name} is ignored by {command}")
            _command(f"::warning title=promoter action::{message}")


def promoter_arguments(inputs: Mapping[str, str], runner_temp: str) -> list[str]:
    """promoter's arguments (after the program name) for the action's inputs."""
    command = inputs.get("command", "").strip() or "run"
    if command not in COMMANDS:
        raise ActionError(f"command {command!r}: choose one of {', '.join(COMMANDS)}")
    pipeline = inputs.get("pipeline", "").strip() or "pipeline.yml"
    try:
        extra = shlex.split(inputs.get("args", ""))
    except ValueError as bad:
        raise ActionError(f"args: {bad}") from None
    flags = [arg for arg in extra if arg in GLOBAL_FLAGS]
    extra = [arg for arg in extra if arg not in GLOBAL_FLAGS]
    images = [arg for name in _list(inputs.get("images", "")) for arg in ("--image", name)]
    stages = inputs.get("stages", "").strip()
    plan_file = inputs.get("plan-file", "").strip()
    if command == "run":
        body = ["run", "-f", pipeline, *images, *(["--stage", stages] if stages else [])]
        _ignored(inputs, ("plan-file",), command)
    elif command == "promote":
        body = ["run", "-f", pipeline, *images, "--stage", "check,promote"]
        _ignored(inputs, ("stages", "plan-file"), command)
    elif command == "plan":
        out = plan_file or os.path.join(runner_temp, "promoter-plan.json")
        body = ["plan", "-f", pipeline, *images, "--out", out]
        _ignored(inputs, ("stages",), command)
    elif command == "apply":
        if not plan_file:
            raise ActionError("command apply needs the plan-file input")
        body = ["apply", plan_file, "-f", pipeline]  # the checkout's file, not the plan's
        _ignored(inputs, ("images", "stages"), command)
    elif command == "check":
        body = ["check", "-f", pipeline]
        _ignored(inputs, ("images", "stages", "plan-file"), command)
    elif command == "rollback":  # IMAGE from images; --tag, --to, --reason from args or env
        body = ["rollback", "-f", pipeline, *_list(inputs.get("images", ""))]
        _ignored(inputs, ("stages", "plan-file"), command)
    elif command == "prune":  # a dry run unless args say --apply; plan-file: --out
        body = ["prune", "-f", pipeline, *images, *(["--out", plan_file] if plan_file else [])]
        _ignored(inputs, ("stages",), command)
    else:  # copy
        body = ["copy"]
        _ignored(inputs, ("images", "stages", "plan-file"), command)
    return [*flags, "--ci", "github", *body, *extra]


def _inputs(env: Mapping[str, str]) -> dict[str, str]:
    names = ("command", "pipeline", "images", "stages", "plan-file", "args")
    return {name: env.get("INPUT_" + name.replace("-", "_").upper(), "") for name in names}


def _output_size() -> int:
    path = os.environ.get("GITHUB_OUTPUT")
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def _wrote_result(since: int) -> bool:
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return True
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            file.seek(since)
            return any(line.startswith(("result=", "result<<")) for line in file)
    except OSError:
        return False


def run(env: Mapping[str, str]) -> int:
    venv = Path(_required(env, "PROMOTER_VENV"))
    arguments = promoter_arguments(_inputs(env), env.get("RUNNER_TEMP") or tempfile.gettempdir())
    program = _bin(venv, "promoter")
    # Nothing printed before promoter starts: its masks come first in the log.
    before = _output_size()
    code = subprocess.run([str(program), *arguments], check=False).returncode
    if code < 0:  # killed by a signal, as a shell reports it
        code = 128 - code
    if not _wrote_result(before):  # promoter could not even start
        _set_output("result", {0: "succeeded", 1: "refused"}.get(code, "failed"))
    return code


def main(argv: list[str]) -> int:
    steps = {"prepare": prepare, "install": install, "run": run}
    if len(argv) != 1 or argv[0] not in steps:
        sys.stderr.write(f"usage: promoter_action.py {{{','.join(steps)}}}\n")
        return 2
    try:
        return steps[argv[0]](os.environ)
    except ActionError as bad:
        _command(f"::error title=promoter action::{_escape(str(bad))}")
        if argv[0] == "run":
            _set_output("result", "failed")
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
