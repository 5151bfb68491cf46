"""The global expressions of rule values, prefixes, suffixes, ``enable=`` and labels.

``{{branch}}``, ``{{tag}}``, ``{{sha}}`` (short), ``{{base_ref}}``,
``{{is_default_branch}}``, ``{{is_not_default_branch}}`` (the strings
``true``/``false``), ``{{date 'FMT' tz='Zone'}}`` (the clock) and
``{{commit_date 'FMT' tz='Zone'}}`` (the commit's date, else the clock).
"""

from __future__ import annotations

from datetime import datetime

from promoter.tagging.context import GitContext, RepositoryInfo
from promoter.tagging.datefmt import format_moment
from promoter.tagging.templates import HelperCall, TemplateError, render

__all__ = ["Expressions", "date_helper"]


def date_helper(when: datetime) -> object:
    """A ``{{date}}``-style helper formatting ``when``: ``(format?, HelperCall)``."""

    def helper(*args: object) -> str:
        call = args[-1] if args and isinstance(args[-1], HelperCall) else HelperCall()
        params = [arg for arg in args if not isinstance(arg, HelperCall)]
        fmt = params[0] if params else None
        tz = "UTC"
        for key, value in call.hash.items():
            if key != "tz":
                raise TemplateError(f"unknown {key} attribute of a date expression")
            tz = str(value)
        return format_moment(when, None if fmt is None else str(fmt), tz)

    return helper


class Expressions:
    """Renders templates against one context, repository and clock."""

    def __init__(
        self, context: GitContext, repository: RepositoryInfo, now: datetime, short_sha_length: int
    ) -> None:
        self.context = context
        self.repository = repository
        self.now = now
        self.short_sha_length = short_sha_length

    def short_sha(self) -> str:
        """The commit sha cut to the short length."""
        return self.context.sha[: self.short_sha_length]

    def _base_ref(self) -> str:
        payload = self.context.payload
        if self.context.ref.startswith("refs/tags/") and payload.get("base_ref") is not None:
            return str(payload["base_ref"]).removeprefix("refs/heads/")
        if self.context.ref.startswith("refs/pull/"):
            base = (payload.get("pull_request") or {}).get("base") or {}
            if base.get("ref") is not None:
                return str(base["ref"])
        return ""

    def _is_default_branch(self) -> bool:
        branch = self.context.ref.removeprefix("refs/heads/")
        if not branch:
            return False
        payload_default = (self.context.payload.get("repository") or {}).get("default_branch")
        return branch in (payload_default, self.repository.default_branch or None)

    def dates(self) -> dict[str, object]:
        """Only the date helpers (what a ``type=schedule`` pattern sees)."""
        commit_date = self.context.commit_date or self.now
        return {"date": date_helper(self.now), "commit_date": date_helper(commit_date)}

    def values(self) -> dict[str, object]:
        """Every global expression."""
        default = self._is_default_branch()
        return {
            "branch": lambda *_: self.context.branch,
            "tag": lambda *_: self.context.tag,
            "sha": lambda *_: self.short_sha(),
            "base_ref": lambda *_: self._base_ref(),
            "is_default_branch": lambda *_: "true" if default else "false",
            "is_not_default_branch": lambda *_: "false" if default else "true",
            **self.dates(),
        }

    def render(self, template: str) -> str:
        """Render ``template`` with every global expression."""
        return render(template, self.values())
