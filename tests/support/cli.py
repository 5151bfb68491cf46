"""``promoter`` as a separate process: the one way the tests run the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["isolated_env", "run_cli", "run_isolated"]


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    text: bool = True,
    wrapper: Sequence[str] = (),
) -> subprocess.CompletedProcess[Any]:
    """``python -m promoter ARGS`` in ``cwd``: exit code and output (``str``, or ``bytes``
    with ``text=False``); a non-zero exit is the test's to judge, never an exception.

    ``env`` is the process's whole environment when given, else this process's;
    ``wrapper`` runs before the interpreter (``/usr/bin/time -f %M``, say).
    """
    return subprocess.run(
        [*wrapper, sys.executable, "-m", "promoter", *args],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=text,
        timeout=timeout,
        check=False,
    )


def isolated_env(cwd: Path, env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with none of its ``PROMOTER_*`` or ``DOCKER_*`` variables
    (and an empty Docker config under ``cwd``), then ``env``: only ``env`` may log promoter in."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PROMOTER_", "DOCKER_"))}
    clean["DOCKER_CONFIG"] = str(cwd / "no-docker-config")
    return {**clean, **env}


def run_isolated(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """``run_cli`` in ``cwd`` with :func:`isolated_env` (output as bytes)."""
    return run_cli(args, cwd=cwd, env=isolated_env(cwd, env), timeout=timeout, text=False)
