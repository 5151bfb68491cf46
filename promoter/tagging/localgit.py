"""The git context of a local checkout, read with gitpython.

HEAD decides the event: a tag pointing at HEAD makes it a tag push
(``refs/tags/<tag>``, the newest tag when several point there); otherwise the
checked-out branch (``refs/heads/<branch>``); a detached HEAD without a tag
has no ref, so only ``type=sha`` and ``type=raw`` rules yield tags.
Uncommitted changes (untracked files included) set ``dirty``; a shallow
clone sets ``shallow``; both add a warning. The ``origin`` remote gives the
source URL, stripped of any credentials. Git errors become promoter errors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from promoter.errors import InputError, OperationError
from promoter.tagging.context import GitContext, RepositoryInfo
from promoter.tagging.remotes import public_url, repository_name

__all__ = ["checkout_head", "local_context", "redact_urls"]

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact_urls(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL replaced by ``***@``."""
    return _USERINFO.sub("***@", text)


def _open(path: Path) -> Any:
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except git.NoSuchPathError as error:
        raise InputError(f"{path} does not exist") from error
    except git.InvalidGitRepositoryError as error:
        raise InputError(
            f"{path} is not inside a git repository",
            hint="run promoter in a git checkout, or on GitHub Actions / Azure DevOps",
        ) from error


def _default_branch(repo: Any) -> str:
    try:
        target = repo.git.symbolic_ref("--quiet", "refs/remotes/origin/HEAD")
        return str(target).removeprefix("refs/remotes/origin/")
    except Exception:  # origin/HEAD is often absent; fall through to the local branches
        pass
    names = {head.name for head in repo.heads}
    candidates = [name for name in ("main", "master") if name in names]
    return candidates[0] if len(candidates) == 1 else ""


def _origin_url(repo: Any) -> str:
    remotes = {remote.name: remote for remote in repo.remotes}
    remote = remotes.get("origin") or next(iter(remotes.values()), None)
    if remote is None:
        return ""
    urls = list(remote.urls)
    return public_url(urls[0]) if urls else ""


def _read(repo: Any, path: Path) -> tuple[GitContext, RepositoryInfo]:
    if repo.bare:
        raise InputError(f"{path} is a bare git repository; promoter needs a checkout")
    # A plain command first: it reports refusals (like dubious ownership) on stderr,
    # where gitpython's persistent cat-file process would only break its pipe.
    shallow = repo.git.rev_parse("--is-shallow-repository").strip() == "true"
    try:
        commit = repo.head.commit
    except ValueError as error:
        raise InputError(f"the git repository at {repo.working_dir} has no commits yet") from error
    sha = commit.hexsha
    detached = repo.head.is_detached
    branch = "" if detached else repo.active_branch.name
    tags = repo.git.tag("--points-at", "HEAD", "--sort=-creatordate").split()
    ref = f"refs/tags/{tags[0]}" if tags else (f"refs/heads/{branch}" if branch else "")
    dirty = repo.is_dirty(untracked_files=True)
    warnings = []
    if dirty:
        warnings.append(
            f"uncommitted changes in {repo.working_dir}: the image will not match commit {sha[:7]}"
        )
    if shallow:
        warnings.append("shallow clone: tags and history outside the fetched commits are not seen")
    if not ref:
        warnings.append(f"detached HEAD at {sha[:7]} with no tag: only sha and raw tags apply")
    context = GitContext(
        source="git",
        event_name="push",
        ref=ref,
        sha=sha,
        commit_date=commit.committed_datetime,
        dirty=dirty,
        shallow=shallow,
        detached=detached,
        warnings=tuple(warnings),
    )
    url = _origin_url(repo)
    repository = RepositoryInfo(
        name=repository_name(url) if url else Path(repo.working_dir).name,
        default_branch=_default_branch(repo),
        html_url=url,
    )
    return context, repository


def local_context(path: str | Path = ".") -> tuple[GitContext, RepositoryInfo]:
    """The context and repository facts of the checkout holding ``path``."""
    import git

    where = Path(path)
    repo = _open(where)
    try:
        with repo:
            return _read(repo, where)
    except git.GitCommandError as error:
        detail = _git_failure(error, repo.working_dir)
        raise OperationError(f"git failed in {where}", detail=detail or None) from error
    except (git.GitError, OSError) as error:
        raise OperationError(
            f"cannot read the git repository at {where}: {type(error).__name__}"
        ) from error


def _git_failure(error: Exception, top: str | Path) -> str:
    """What git said (URLs redacted); ``InputError`` when it refuses a repository another
    user owns, with the command that allows it."""
    detail = redact_urls(str(getattr(error, "stderr", "") or "").strip())
    if "dubious ownership" in detail:
        raise InputError(
            f"git refuses the repository at {top}: it belongs to another user",
            hint=f"git config --global --add safe.directory {top}",
        ) from error
    return detail


def checkout_head(path: str | Path) -> tuple[Path, str] | None:
    """The top folder of the checkout holding ``path`` and its HEAD commit (``""``: no
    commit yet); None when ``path`` is in no git work tree."""
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.NoSuchPathError, git.InvalidGitRepositoryError):
        return None
    with repo:
        if repo.bare or repo.working_tree_dir is None:
            return None
        top = Path(repo.working_tree_dir)
        try:
            return top, str(repo.git.rev_parse("--verify", "--quiet", "HEAD^{commit}")).strip()
        except git.GitCommandError as error:
            detail = _git_failure(error, top)
            if error.status == 1 and not detail:  # --verify --quiet: HEAD names no commit
                return top, ""
            raise OperationError(f"git failed in {top}", detail=detail or None) from error
