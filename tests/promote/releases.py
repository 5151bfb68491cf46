"""Releases in turn for the history and rollback tests: a commit tagged ``v<version>``,
its image in staging, promoted by the real CLI; and the two commands' JSON documents."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.promote.project import CLEAN_ENV, Project, promoter_cli
from tests.support.images import Image

__all__ = ["history_of", "release", "roll_back"]


def release(project: Project, version: str, seed: str, *, user: str = "1000") -> Image:
    """Commit, tag ``v<version>``, seed staging ``web:<version>``, then ``promoter run``
    (check and promote): ``latest`` moves to this image on both productions."""
    for args in (
        ("commit", "--allow-empty", "-q", "-m", f"release {version}"),
        ("tag", f"v{version}"),
    ):
        subprocess.run(["git", *args], cwd=project.root, env=CLEAN_ENV, check=True)
    image = project.seed(seed=seed, tag=version, user=user)
    result = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
    assert result.returncode == 0, result.stdout + result.stderr
    return image


def history_of(project: Project, reference: str, *extra: str) -> dict[str, Any]:
    """``promoter history REF --output json`` (the project's registry settings)."""
    result = promoter_cli("history", reference, "-f", str(project.file), "--output", "json", *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def roll_back(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """``promoter rollback web ARGS -f pipeline.yml`` (exit code and output to judge)."""
    return promoter_cli("rollback", "web", "-f", str(project.file), *args)
