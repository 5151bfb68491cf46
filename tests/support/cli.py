"""``promoter`` as a separate process, in an environment of the test's own making."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["run_isolated"]


def run_isolated(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """``python -m promoter ARGS`` in ``cwd`` with none of the caller's ``PROMOTER_*`` or
    ``DOCKER_*`` variables (and an empty Docker config): only ``env`` may log it in."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PROMOTER_", "DOCKER_"))}
    clean["DOCKER_CONFIG"] = str(cwd / "no-docker-config")
    return subprocess.run(
        [sys.executable, "-m", "promoter", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
