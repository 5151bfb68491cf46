"""git for the tests: one helper that runs it in a clean environment."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.support.env import clean_env

__all__ = ["git"]


def git(
    cwd: Path, *args: str, date: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Run ``git ARGS`` in ``cwd``; its output, stripped. A failure raises CalledProcessError.

    The environment is ``env`` (``clean_env()`` by default: no CI variables, a fixed
    identity); ``date`` fixes the author and committer dates of a commit.
    """
    environment = dict(clean_env() if env is None else env)
    if date is not None:
        environment.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=environment, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()
