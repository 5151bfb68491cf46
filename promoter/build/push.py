"""Pushing a kaniko tarball to the staging repository with promoter's own registry client.

The copy engine reads the tarball as ``docker-archive:PATH``, pushes it by
digest to the staging repository, then writes the staging tags.
"""

from __future__ import annotations

from collections.abc import Sequence

from promoter.build.stage import PushFunction
from promoter.config import Pipeline
from promoter.errors import NotAvailableError

__all__ = ["staging_pusher"]


def staging_pusher(
    pipeline: Pipeline, *, insecure_registries: Sequence[str] = (), ca_file: str | None = None
) -> PushFunction:
    """A function that pushes a build's tarball to its staging destinations."""
    raise NotAvailableError(
        "pushing to staging is not available in this version yet",
        hint="it lands with the copy engine (issue #3); use 'promoter build --no-push' meanwhile",
    )
