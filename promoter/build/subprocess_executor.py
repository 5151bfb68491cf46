"""Running kaniko's executor as a subprocess, when promoter itself runs in a kaniko image.

Inside the executor image (``/kaniko/executor`` present, no Docker engine
reachable) there is nothing to start a container with: the executor runs
directly, with the same arguments, the paths being this machine's own. The
private Docker config reaches it through ``DOCKER_CONFIG``, never its argv.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from promoter.build.failure import LogTail, deliver
from promoter.environment import snapshot
from promoter.errors import BuildError

__all__ = ["DEFAULT_EXECUTOR_PATH", "EXECUTOR_PATH_ENV", "executor_path", "run_as_subprocess"]

#: Where a kaniko image keeps its executor.
DEFAULT_EXECUTOR_PATH = "/kaniko/executor"
#: Overrides the executor's path (tests run the stand-in this way).
EXECUTOR_PATH_ENV = "PROMOTER_KANIKO_EXECUTOR"


def executor_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The executor to run: ``explicit``, else ``$PROMOTER_KANIKO_EXECUTOR``, else /kaniko/executor."""
    if explicit is not None:
        return Path(explicit)
    return Path(snapshot().get(EXECUTOR_PATH_ENV) or DEFAULT_EXECUTOR_PATH)


def _read(stream: IO[bytes], tail: LogTail, on_log: Callable[[str], None]) -> None:
    for raw in iter(stream.readline, b""):
        deliver(on_log, tail.feed(raw.decode("utf-8", errors="replace")))
    deliver(on_log, tail.close())


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the executor and its children
    process.wait()


def run_as_subprocess(
    executor: Path,
    arguments: list[str],
    *,
    docker_config: Path,
    timeout: float,
    tail: LogTail,
    on_log: Callable[[str], None],
    environment: Mapping[str, str] | None = None,
) -> int | None:
    """Run the executor to its end; its exit code, or None when it timed out (and was killed).
    ``environment`` is added to this process's (a snapshot: ``promoter.environment``),
    with the secret build arguments' values."""
    environment = {**snapshot(), **(environment or {})}
    environment["DOCKER_CONFIG"] = str(docker_config)
    environment.pop(EXECUTOR_PATH_ENV, None)
    try:
        process = subprocess.Popen(
            [str(executor), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    except OSError as error:
        raise BuildError(
            f"cannot start the kaniko executor {executor}: {error.strerror or error}",
            hint=f"set {EXECUTOR_PATH_ENV} to the executor, or run where a Docker engine answers",
        ) from error
    reader = threading.Thread(target=_read, args=(process.stdout, tail, on_log), daemon=True)
    reader.start()
    try:
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            reader.join(timeout=5)
            return None
        reader.join(timeout=10)
        return code
    finally:
        _stop(process)  # Ctrl-C and any other way out: nothing keeps running
        if process.stdout is not None:
            process.stdout.close()
