"""The git context on GitHub Actions: runner variables and the event payload.

``GITHUB_EVENT_NAME``, ``GITHUB_REF`` and ``GITHUB_SHA`` give the event;
``GITHUB_EVENT_PATH`` the webhook payload (base ref, pull request, commit
dates, repository facts). As metadata-action does, a ``pull_request_target``
event is read as ``refs/pull/<n>/merge``, and ``DOCKER_METADATA_PR_HEAD_SHA=true``
makes a pull request use its head commit instead of the merge commit.
Repository facts come from the payload (no API call is made).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from promoter.errors import InputError
from promoter.tagging.context import GitContext, RepositoryInfo

__all__ = ["github_context", "github_repository", "parse_timestamp"]


def parse_timestamp(text: str) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset) as an aware datetime, or None."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo else None


def _load_payload(path: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    if not path:
        return {}, ()
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except FileNotFoundError:
        return {}, (f"GITHUB_EVENT_PATH {path} does not exist; reading no event payload",)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the GitHub event payload {path}: {error}") from error
    if not isinstance(payload, dict):
        raise InputError(f"the GitHub event payload {path} is not a JSON object")
    return payload, ()


def _commit_date(payload: Mapping[str, Any], sha: str) -> datetime | None:
    for commit in payload.get("commits") or []:
        if isinstance(commit, dict) and commit.get("id") == sha and commit.get("timestamp"):
            return parse_timestamp(str(commit["timestamp"]))
    head = payload.get("head_commit")
    if isinstance(head, dict) and head.get("id") == sha and head.get("timestamp"):
        return parse_timestamp(str(head["timestamp"]))
    return None


def github_context(env: Mapping[str, str]) -> GitContext:
    """The context of a GitHub Actions run described by ``env``."""
    event_name = env.get("GITHUB_EVENT_NAME", "")
    ref = env.get("GITHUB_REF", "")
    sha = env.get("GITHUB_SHA", "")
    payload, warnings = _load_payload(env.get("GITHUB_EVENT_PATH", ""))
    if "pull_request_target" in event_name:
        ref = f"refs/pull/{payload.get('number', '')}/merge"
    if (
        env.get("DOCKER_METADATA_PR_HEAD_SHA", "").lower() == "true"
        and "pull_request" in event_name
    ):
        head_sha = ((payload.get("pull_request") or {}).get("head") or {}).get("sha")
        if head_sha:
            sha = str(head_sha)
    return GitContext(
        source="github-actions",
        event_name=event_name,
        ref=ref,
        sha=sha,
        commit_date=_commit_date(payload, sha),
        payload=payload,
        run_id=env.get("GITHUB_RUN_ID", ""),
        warnings=warnings,
    )


def github_repository(
    repository: Mapping[str, object] | None, env: Mapping[str, str] | None = None
) -> RepositoryInfo:
    """Repository facts from a GitHub repository object (API answer or ``payload.repository``).

    Without one, the name and URL come from ``GITHUB_SERVER_URL``/``GITHUB_REPOSITORY``.
    """
    repo = dict(repository or {})
    env = env or {}
    full_name = env.get("GITHUB_REPOSITORY", "")
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    fallback_url = f"{server}/{full_name}" if full_name else ""
    license_info = repo.get("license") or {}
    return RepositoryInfo(
        name=str(repo.get("name") or full_name.rpartition("/")[2]),
        description=str(repo.get("description") or ""),
        license=str(license_info.get("spdx_id") or "") if isinstance(license_info, dict) else "",
        default_branch=str(repo.get("default_branch") or ""),
        html_url=str(repo.get("html_url") or fallback_url),
    )
