"""The git context on Azure DevOps Pipelines, mapped to GitHub's event model.

``BUILD_SOURCEBRANCH`` is already a ref (``refs/heads/main``,
``refs/tags/v1.2.3``, ``refs/pull/42/merge``); ``BUILD_SOURCEVERSION`` is the
commit; ``BUILD_REASON`` gives the event: ``PullRequest`` -> ``pull_request``,
``Schedule`` -> ``schedule``, ``Manual`` -> ``workflow_dispatch``, anything
else (``IndividualCI``, ``BatchedCI``, ...) -> ``push``. A pull request build
gets a GitHub-shaped payload (number, base and head branches, head commit)
from the ``SYSTEM_PULLREQUEST_*`` variables, so ``{{base_ref}}``,
``type=ref,event=pr`` and ``DOCKER_METADATA_PR_HEAD_SHA`` work the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promoter.tagging.context import GitContext, RepositoryInfo
from promoter.tagging.remotes import public_url, repository_name

__all__ = ["azure_context", "azure_repository"]

_EVENTS = {"pullrequest": "pull_request", "schedule": "schedule", "manual": "workflow_dispatch"}


def _branch(ref: str) -> str:
    return ref.removeprefix("refs/heads/")


def _pull_request(env: Mapping[str, str]) -> dict[str, Any]:
    number = env.get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER") or env.get(
        "SYSTEM_PULLREQUEST_PULLREQUESTID", ""
    )
    head: dict[str, object] = {"ref": _branch(env.get("SYSTEM_PULLREQUEST_SOURCEBRANCH", ""))}
    if env.get("SYSTEM_PULLREQUEST_SOURCECOMMITID"):
        head["sha"] = env["SYSTEM_PULLREQUEST_SOURCECOMMITID"]
    return {
        "number": int(number) if number.isdigit() else number,
        "pull_request": {
            "number": int(number) if number.isdigit() else number,
            "base": {"ref": _branch(env.get("SYSTEM_PULLREQUEST_TARGETBRANCH", ""))},
            "head": head,
        },
    }


def azure_context(env: Mapping[str, str]) -> GitContext:
    """The context of an Azure DevOps run described by ``env``."""
    reason = env.get("BUILD_REASON", "")
    event_name = _EVENTS.get(reason.lower(), "push")
    ref = env.get("BUILD_SOURCEBRANCH", "")
    sha = env.get("BUILD_SOURCEVERSION", "")
    payload: dict[str, Any] = {}
    if event_name == "pull_request":
        payload = _pull_request(env)
        number = payload["number"]
        if number != "" and not ref.startswith("refs/pull/"):
            ref = f"refs/pull/{number}/merge"
        head_sha = payload["pull_request"]["head"].get("sha")
        if env.get("DOCKER_METADATA_PR_HEAD_SHA", "").lower() == "true" and head_sha:
            sha = head_sha
    elif ref and not ref.startswith("refs/"):
        ref = f"refs/heads/{ref}"
    return GitContext(
        source="azure-devops",
        event_name=event_name,
        ref=ref,
        sha=sha,
        payload=payload,
        run_id=env.get("BUILD_BUILDID", ""),
    )


def azure_repository(env: Mapping[str, str]) -> RepositoryInfo:
    """Repository facts from ``BUILD_REPOSITORY_URI`` and ``BUILD_REPOSITORY_NAME``."""
    url = public_url(env.get("BUILD_REPOSITORY_URI", ""))
    name = env.get("BUILD_REPOSITORY_NAME", "").rpartition("/")[2]
    return RepositoryInfo(name=name or repository_name(url), html_url=url)
