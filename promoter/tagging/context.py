"""The git context tags are computed from, and the repository facts labels use.

Every source (GitHub Actions, Azure DevOps, a local checkout) is mapped to
the same event model as GitHub's: an event name (``push``, ``pull_request``,
``schedule``, ...), a ref (``refs/heads/<branch>``, ``refs/tags/<tag>`` or
``refs/pull/<n>/merge``) and a commit sha.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from promoter.structs import field, struct

__all__ = ["GitContext", "RepositoryInfo"]


@struct(frozen=True)
class RepositoryInfo:
    """What the OCI labels say about the repository (metadata-action asks GitHub's API)."""

    name: str = ""
    description: str = ""
    license: str = ""
    default_branch: str = ""
    html_url: str = ""

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready form."""
        return {
            "name": self.name,
            "description": self.description,
            "license": self.license,
            "defaultBranch": self.default_branch,
            "htmlUrl": self.html_url,
        }


@struct(frozen=True)
class GitContext:
    """Where the build comes from: event, ref, commit, and facts about the checkout."""

    source: str = "none"  # github-actions | azure-devops | git | none
    event_name: str = ""
    ref: str = ""
    sha: str = ""
    commit_date: datetime | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    run_id: str = ""
    dirty: bool = False
    shallow: bool = False
    detached: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def branch(self) -> str:
        """The branch of a ``refs/heads/`` ref, else ``''``."""
        return self.ref[len("refs/heads/") :] if self.ref.startswith("refs/heads/") else ""

    @property
    def tag(self) -> str:
        """The tag of a ``refs/tags/`` ref, else ``''``."""
        return self.ref[len("refs/tags/") :] if self.ref.startswith("refs/tags/") else ""

    @property
    def pull_request(self) -> str:
        """The pull request number of a ``refs/pull/<n>/merge`` ref, else ``''``."""
        if not self.ref.startswith("refs/pull/"):
            return ""
        return self.ref[len("refs/pull/") :].removesuffix("/merge")

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form (the payload is left out: it can be large)."""
        return {
            "source": self.source,
            "event": self.event_name,
            "ref": self.ref,
            "sha": self.sha,
            "branch": self.branch,
            "tag": self.tag,
            "pullRequest": self.pull_request,
            "commitDate": self.commit_date.isoformat() if self.commit_date else None,
            "runId": self.run_id,
            "dirty": self.dirty,
            "shallow": self.shallow,
            "detached": self.detached,
            "warnings": list(self.warnings),
        }
