"""Templates outside the tag rules: build arguments, promotion tags, labels.

``expand_template("{{version}}", metadata, context, repository, now=...)``
renders with every global expression (``{{branch}}``, ``{{sha}}``,
``{{date 'YYYYMMDD'}}``, ...) plus the computed version: ``{{version}}`` is the
image version (the first tag), ``{{major}}``/``{{minor}}``/``{{patch}}`` its
parts when it is a semantic or PEP 440 version (else empty), and ``{{raw}}``
the git tag (else the version).
"""

from __future__ import annotations

from datetime import datetime

from promoter.tagging.context import GitContext, RepositoryInfo
from promoter.tagging.engine import Metadata
from promoter.tagging.expressions import Expressions
from promoter.tagging.templates import render
from promoter.tagging.versions import parse_pep440, parse_semver

__all__ = ["expand_template", "version_values"]


def version_values(version: str, git_tag: str = "") -> dict[str, object]:
    """``version``, ``major``, ``minor``, ``patch`` and ``raw`` for a computed version."""
    values: dict[str, object] = {
        "version": version,
        "raw": git_tag or version,
        "major": "",
        "minor": "",
        "patch": "",
    }
    semver = parse_semver(version)
    pep440 = None if semver else parse_pep440(version)
    parsed = semver or pep440
    if parsed is not None:
        values.update(major=parsed.major, minor=parsed.minor, patch=parsed.patch)
    return values


def expand_template(
    text: str,
    metadata: Metadata,
    context: GitContext,
    repository: RepositoryInfo,
    *,
    now: datetime,
    short_sha_length: int = 7,
) -> str:
    """Render ``text`` with the global expressions and the computed version."""
    expressions = Expressions(context, repository, now, short_sha_length)
    values = expressions.values()
    values.update(version_values(metadata.version.main or "", context.tag))
    return render(text, values)
