"""Whether a real part (a tool, a Docker engine) is here, and what to do when it is not.

A test needing a missing part is skipped with the reason on a developer's
machine, and fails under CI (``CI=true``), where every real part must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

__all__ = ["docker_engine_missing", "require", "skopeo_raw", "tool_missing"]


def require(reason: str | None) -> None:
    """Nothing when ``reason`` is None; else skip with it, or fail under CI."""
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def tool_missing(tool: str, package: str | None = None) -> str | None:
    """Why ``tool`` cannot run here (None when it is on PATH)."""
    if shutil.which(tool) is not None:
        return None
    return f"{tool} not found (Debian package {package or tool})"


def docker_engine_missing() -> str | None:
    """Why no Docker engine can be used here (None when ``docker info`` answers)."""
    missing = tool_missing("docker", "docker.io")
    if missing:
        return missing
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 30 s"
    if probe.returncode != 0:
        return f"no Docker engine answers: {probe.stderr.strip()[:200]}"
    return None


def skopeo_raw(reference: str) -> bytes:
    """What ``skopeo inspect --raw`` reads at ``docker://reference`` (TLS unverified):
    the outside reader's view of a manifest (skopeo missing: ``require``'s rule)."""
    require(tool_missing("skopeo"))
    done = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{reference}"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout
