"""Which git context applies: GitHub Actions, Azure DevOps or the local checkout.

The service is the one ``promoter.ci.service`` detects (``--ci`` overrides it).

On a CI service the local checkout (when there is one) still fills what the
CI variables lack: the commit date, the default branch, ``dirty``/``shallow``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from promoter.ci.service import AZURE_DEVOPS, GITHUB, detect_service
from promoter.environment import snapshot
from promoter.errors import InputError, PromoterError
from promoter.structs import replace
from promoter.tagging.azure import azure_context, azure_repository
from promoter.tagging.context import GitContext, RepositoryInfo
from promoter.tagging.github import github_context, github_repository
from promoter.tagging.localgit import local_context

__all__ = ["detect_context"]


def _fill_from_checkout(
    context: GitContext, repository: RepositoryInfo, path: Path
) -> tuple[GitContext, RepositoryInfo]:
    try:
        local, local_repo = local_context(path)
    except PromoterError:
        return context, repository
    if context.commit_date is None and local.sha == context.sha:
        context = replace(context, commit_date=local.commit_date)
    context = replace(
        context,
        dirty=local.dirty,
        shallow=local.shallow,
        warnings=context.warnings + tuple(w for w in local.warnings if "detached" not in w),
    )
    if not repository.default_branch and local_repo.default_branch:
        repository = replace(repository, default_branch=local_repo.default_branch)
    if not repository.html_url and local_repo.html_url:
        repository = replace(repository, html_url=local_repo.html_url)
    return context, repository


def detect_context(
    path: str | Path = ".", env: Mapping[str, str] | None = None
) -> tuple[GitContext, RepositoryInfo]:
    """The context and repository facts for a build of the checkout at ``path``."""
    env = snapshot() if env is None else env
    where = Path(path)
    try:
        service = detect_service(env)
    except ValueError as bad:
        raise InputError(str(bad)) from None
    if service == GITHUB:
        context = github_context(env)
        repository = github_repository(context.payload.get("repository"), env)
    elif service == AZURE_DEVOPS:
        context = azure_context(env)
        repository = azure_repository(env)
        where = Path(env.get("BUILD_SOURCESDIRECTORY") or where)
    else:
        return local_context(where)
    return _fill_from_checkout(context, repository, where)
