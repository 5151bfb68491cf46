"""Azure DevOps and GitHub Actions variables mapped onto the same event model."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from promoter.tagging import (
    TagInputs,
    azure_context,
    azure_repository,
    compute_metadata,
    detect_context,
    github_context,
)

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
SHA = "0123456789abcdef0123456789abcdef01234567"
HEAD = "fedcba9876543210fedcba9876543210fedcba98"
RULES = (
    "type=schedule",
    "type=ref,event=branch",
    "type=ref,event=tag",
    "type=ref,event=pr",
    "type=semver,pattern={{major}}.{{minor}}",
    "type=raw,value=base-{{base_ref}},enable={{is_not_default_branch}}",
    "type=sha",
)


def azure_env(**extra: str) -> dict[str, str]:
    env = {
        "TF_BUILD": "True",
        "BUILD_REASON": "IndividualCI",
        "BUILD_SOURCEBRANCH": "refs/heads/main",
        "BUILD_SOURCEVERSION": SHA,
        "BUILD_BUILDID": "812",
        "BUILD_REPOSITORY_URI": "https://contoso@dev.azure.com/contoso/web/_git/shop",
        "BUILD_REPOSITORY_NAME": "shop",
    }
    env.update(extra)
    return env


def tags(env: dict[str, str], *rules: str) -> list[str]:
    context = azure_context(env)
    repository = azure_repository(env)
    return compute_metadata(
        TagInputs(images=["acr.example/shop"], tags=rules or RULES), context, repository, now=NOW
    ).tag_names


def test_branch_push() -> None:
    context = azure_context(azure_env())
    assert (context.source, context.event_name, context.ref, context.sha, context.run_id) == (
        "azure-devops",
        "push",
        "refs/heads/main",
        SHA,
        "812",
    )
    assert tags(azure_env(BUILD_SOURCEBRANCH="refs/heads/release/1.x")) == [
        "release-1.x",
        "base-",
        "sha-0123456",
    ]


def test_tag_build() -> None:
    env = azure_env(BUILD_SOURCEBRANCH="refs/tags/v4.5.6")
    assert tags(env) == ["4.5", "v4.5.6", "base-", "sha-0123456", "latest"]


def test_pull_request_github_number() -> None:
    env = azure_env(
        BUILD_REASON="PullRequest",
        BUILD_SOURCEBRANCH="refs/pull/42/merge",
        SYSTEM_PULLREQUEST_PULLREQUESTID="987654",
        SYSTEM_PULLREQUEST_PULLREQUESTNUMBER="42",
        SYSTEM_PULLREQUEST_SOURCEBRANCH="refs/heads/feature/cart",
        SYSTEM_PULLREQUEST_TARGETBRANCH="refs/heads/main",
        SYSTEM_PULLREQUEST_SOURCECOMMITID=HEAD,
    )
    context = azure_context(env)
    assert context.event_name == "pull_request" and context.pull_request == "42"
    assert tags(env) == ["pr-42", "base-main", "sha-0123456"]
    head = azure_context({**env, "DOCKER_METADATA_PR_HEAD_SHA": "true"})
    assert head.sha == HEAD


def test_pull_request_azure_repos_id() -> None:
    env = azure_env(
        BUILD_REASON="PullRequest",
        BUILD_SOURCEBRANCH="refs/heads/feature/cart",
        SYSTEM_PULLREQUEST_PULLREQUESTID="17",
        SYSTEM_PULLREQUEST_TARGETBRANCH="refs/heads/develop",
    )
    assert azure_context(env).ref == "refs/pull/17/merge"
    assert tags(env) == ["pr-17", "base-develop", "sha-0123456"]


def test_schedule_and_manual() -> None:
    assert tags(azure_env(BUILD_REASON="Schedule")) == ["nightly", "main", "base-", "sha-0123456"]
    manual = azure_context(azure_env(BUILD_REASON="Manual"))
    assert manual.event_name == "workflow_dispatch" and manual.branch == "main"


def test_repository_url_loses_credentials() -> None:
    repository = azure_repository(azure_env())
    assert repository.html_url == "https://dev.azure.com/contoso/web/_git/shop"
    assert repository.name == "shop"


def test_detect_azure_without_checkout(tmp_path: Path) -> None:
    env = azure_env(BUILD_SOURCESDIRECTORY=str(tmp_path))
    context, repository = detect_context(tmp_path, env=env)
    assert context.source == "azure-devops" and context.commit_date is None
    assert repository.name == "shop"


def test_github_payload_commit_date_and_pull_request_target(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "number": 7,
                "pull_request": {"base": {"ref": "main"}, "head": {"sha": HEAD}},
                "head_commit": {"id": SHA, "timestamp": "2022-04-19T11:04:39+02:00"},
            }
        ),
        encoding="utf-8",
    )
    env = {
        "GITHUB_EVENT_NAME": "pull_request_target",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": SHA,
        "GITHUB_EVENT_PATH": str(event),
    }
    context = github_context(env)
    assert context.ref == "refs/pull/7/merge"
    assert context.commit_date == datetime(2022, 4, 19, 9, 4, 39, tzinfo=timezone.utc)
    head = github_context({**env, "DOCKER_METADATA_PR_HEAD_SHA": "true"})
    assert head.sha == HEAD and head.commit_date is None


def test_github_missing_payload_is_a_warning(tmp_path: Path) -> None:
    context = github_context(
        {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(tmp_path / "gone.json")}
    )
    assert context.payload == {} and context.warnings


@pytest.mark.parametrize("reason", ["BatchedCI", "ResourceTrigger", "BuildCompletion"])
def test_other_reasons_are_pushes(reason: str) -> None:
    assert azure_context(azure_env(BUILD_REASON=reason)).event_name == "push"
