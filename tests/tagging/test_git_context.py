"""The local git context, read from real repositories built in temporary folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from promoter.errors import InputError
from promoter.tagging import (
    GitContext,
    RepositoryInfo,
    TagInputs,
    compute_metadata,
    detect_context,
    local_context,
)
from tests.support.git import git

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
SEMVER_RULES = (
    "type=ref,event=branch",
    "type=semver,pattern={{version}}",
    "type=semver,pattern={{major}}.{{minor}}",
    "type=semver,pattern={{major}}",
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the git command is missing")


def commit(repo: Path, name: str, date: str = "2024-01-02T03:04:05+00:00") -> str:
    (repo / name).write_text(name, encoding="utf-8")
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}", date=date)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "app"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(path, "README")
    return path


def tags_for(path: Path, *rules: str, flavor: tuple[str, ...] = ()) -> list[str]:
    context, repository = local_context(path)
    inputs = TagInputs(images=["registry.local/app"], tags=rules, flavor=flavor)
    return compute_metadata(inputs, context, repository, now=NOW).tags


def test_branch_checkout(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")
    context, repository = local_context(repo)
    assert (context.source, context.event_name, context.ref) == ("git", "push", "refs/heads/main")
    assert context.sha == sha
    assert not (context.dirty or context.shallow or context.detached)
    assert context.commit_date == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert repository.default_branch == "main"
    assert tags_for(repo) == ["registry.local/app:main"]
    assert tags_for(repo, "type=edge", "type=sha") == [
        "registry.local/app:edge",
        f"registry.local/app:sha-{sha[:7]}",
    ]


def test_feature_branch_is_sanitised_and_not_default(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature/login#12")
    assert tags_for(
        repo,
        "type=ref,event=branch",
        "type=edge",
        "type=raw,value=default,enable={{is_default_branch}}",
    ) == ["registry.local/app:feature-login-12"]


def test_tag_at_head_is_a_tag_event(repo: Path) -> None:
    git(repo, "tag", "v1.2.3")
    context, _ = local_context(repo)
    assert context.ref == "refs/tags/v1.2.3"
    assert tags_for(repo, *SEMVER_RULES) == [
        "registry.local/app:1.2.3",
        "registry.local/app:1.2",
        "registry.local/app:1",
        "registry.local/app:latest",
    ]


def test_prerelease_tag_gets_no_latest(repo: Path) -> None:
    git(repo, "tag", "v2.0.0-rc.1")
    assert tags_for(repo, *SEMVER_RULES) == ["registry.local/app:2.0.0-rc.1"]


def test_newest_of_several_tags_at_head(repo: Path) -> None:
    git(repo, "tag", "-a", "-m", "old", "v1.0.0", date="2024-02-01T00:00:00+00:00")
    git(repo, "tag", "-a", "-m", "new", "v1.0.1", date="2024-03-01T00:00:00+00:00")
    context, _ = local_context(repo)
    assert context.tag == "v1.0.1"


def test_tag_on_an_older_commit_is_not_seen(repo: Path) -> None:
    git(repo, "tag", "v1.0.0")
    commit(repo, "more")
    context, _ = local_context(repo)
    assert context.ref == "refs/heads/main"


def test_detached_head_without_tag(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    commit(repo, "second")
    git(repo, "checkout", "-q", "--detach", first)
    context, _ = local_context(repo)
    assert context.detached and context.ref == "" and context.sha == first
    assert any("detached HEAD" in warning for warning in context.warnings)
    assert tags_for(repo) == []
    assert tags_for(repo, "type=ref,event=branch", "type=sha,format=long") == [
        f"registry.local/app:sha-{first}"
    ]


def test_detached_head_on_a_tag(repo: Path) -> None:
    git(repo, "tag", "v3.1.0")
    commit(repo, "second")
    git(repo, "checkout", "-q", "v3.1.0")
    context, _ = local_context(repo)
    assert context.detached and context.tag == "v3.1.0"
    assert tags_for(repo, "type=ref,event=tag") == [
        "registry.local/app:v3.1.0",
        "registry.local/app:latest",
    ]


def test_shallow_clone(repo: Path, tmp_path: Path) -> None:
    commit(repo, "second")
    git(repo, "tag", "v0.9.0")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    context, repository = local_context(clone)
    assert context.shallow and not context.dirty
    assert context.sha == git(repo, "rev-parse", "HEAD")
    assert any("shallow clone" in warning for warning in context.warnings)
    assert repository.default_branch == "main"  # from origin/HEAD
    assert repository.html_url == ""  # a file:// remote has no public URL
    assert context.tag == "v0.9.0"
    assert tags_for(clone, *SEMVER_RULES, flavor=("latest=false",)) == [
        "registry.local/app:0.9.0",
        "registry.local/app:0.9",
        "registry.local/app:0",
    ]


@pytest.mark.parametrize("change", ["modified", "staged", "untracked"])
def test_uncommitted_changes_are_flagged(repo: Path, change: str) -> None:
    if change == "untracked":
        (repo / "new.txt").write_text("x", encoding="utf-8")
    else:
        (repo / "README").write_text("changed", encoding="utf-8")
        if change == "staged":
            git(repo, "add", "README")
    context, _ = local_context(repo)
    assert context.dirty
    assert any("uncommitted changes" in warning for warning in context.warnings)
    assert context.to_dict()["dirty"] is True


def test_origin_credentials_never_leave(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://builder:s3cr3t-token@git.example.com/org/app.git")
    context, repository = local_context(repo)
    assert repository.html_url == "https://git.example.com/org/app"
    assert repository.name == "app"
    meta = compute_metadata(TagInputs(images=["app"]), context, repository, now=NOW)
    document = json.dumps(
        [meta.to_json(), context.to_dict(), repository.to_dict(), list(meta.labels)]
    )
    assert "s3cr3t" not in document and "builder" not in document
    assert "org.opencontainers.image.source=https://git.example.com/org/app" in meta.labels


def test_ssh_origin_becomes_https(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "git@github.com:octo/widget.git")
    _, repository = local_context(repo)
    assert repository.html_url == "https://github.com/octo/widget"


def test_commit_date_and_revision_labels(repo: Path) -> None:
    sha = commit(repo, "dated", date="2023-07-08T23:30:00+02:00")
    context, repository = local_context(repo)
    meta = compute_metadata(
        TagInputs(
            images=["app"],
            tags=["type=raw,value=build-{{commit_date 'YYYYMMDD-HHmm'}}"],
            labels=["org.opencontainers.image.vendor=Example"],
        ),
        context,
        repository,
        now=NOW,
    )
    assert meta.tags == ["app:build-20230708-2130"]
    assert f"org.opencontainers.image.revision={sha}" in meta.labels
    assert "org.opencontainers.image.created=2024-05-06T07:08:09.000Z" in meta.labels
    assert "org.opencontainers.image.vendor=Example" in meta.labels


def test_not_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not inside a git repository"):
        local_context(tmp_path)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        local_context(tmp_path / "nowhere")


def test_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    with pytest.raises(InputError, match="no commits yet"):
        local_context(tmp_path)


def test_detect_uses_the_checkout_outside_ci(repo: Path) -> None:
    context, repository = detect_context(repo, env={})
    assert context.source == "git" and context.branch == "main"
    assert isinstance(repository, RepositoryInfo)


def test_detect_prefers_github_and_fills_from_checkout(repo: Path, tmp_path: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}), encoding="utf-8")
    env = {
        "GITHUB_ACTIONS": "true",
        "TF_BUILD": "True",
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": sha,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo/widget",
        "GITHUB_SERVER_URL": "https://github.com",
    }
    (repo / "scratch").write_text("x", encoding="utf-8")
    context, repository = detect_context(repo, env=env)
    assert isinstance(context, GitContext)
    assert context.source == "github-actions" and context.event_name == "schedule"
    assert context.commit_date == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert context.dirty
    assert repository.html_url == "https://github.com/octo/widget"
    assert repository.default_branch == "main"  # the schedule payload has none
    meta = compute_metadata(
        TagInputs(images=["app"], tags=["type=schedule", "type=edge"]), context, repository, now=NOW
    )
    assert meta.tags == ["app:nightly", "app:edge"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the repository to another user")
def test_repository_of_another_user(repo: Path) -> None:
    subprocess.run(["chown", "-R", "65534:65534", str(repo)], check=True)
    with pytest.raises(InputError, match="belongs to another user") as caught:
        local_context(repo)
    assert caught.value.hint is not None and "safe.directory" in caught.value.hint
