"""Template expressions in tags, labels and build arguments: ``{{version}}`` and friends.

The variables are docker/metadata-action's: the semver/pep440 pattern
variables (``version``, ``major``, ``minor``, ``patch``, ``raw``) and its
global expressions (``branch``, ``tag``, ``sha``, ``base_ref``,
``is_default_branch``, ``is_not_default_branch``, ``date 'FORMAT' tz='ZONE'``,
``commit_date 'FORMAT' tz='ZONE'``), and the Handlebars blocks
``{{#if VAR}}...{{else}}...{{/if}}`` and ``{{#unless VAR}}...{{/unless}}``
that metadata-action evaluates too. Here they are only checked, not expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from promoter.config.problems import did_you_mean
from promoter.structs import struct

__all__ = ["DATE_VARIABLES", "PLAIN_VARIABLES", "TemplateIssue", "template_issues"]

PLAIN_VARIABLES = frozenset(
    {
        "version",
        "major",
        "minor",
        "patch",
        "raw",
        "branch",
        "tag",
        "sha",
        "base_ref",
        "is_default_branch",
        "is_not_default_branch",
    }
)
DATE_VARIABLES = frozenset({"date", "commit_date"})

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_QUOTED = r"(?:'[^']*'|\"[^\"]*\")"
_DATE_ARGS = re.compile(rf"^\s+{_QUOTED}(?:\s+tz\s*=\s*{_QUOTED})?\s*$")
_BLOCK_OPEN = re.compile(r"^#(if|unless)\s+(\S+)$")
_BLOCK_CLOSE = re.compile(r"^/(if|unless)$")


@struct(frozen=True)
class TemplateIssue:
    """A problem with one ``{{ }}`` expression."""

    message: str
    hint: str | None = None


def _check_expression(inner: str) -> TemplateIssue | None:
    body = inner.strip()
    match = _NAME.match(body)
    if match is None:
        return TemplateIssue(f"'{{{{{inner}}}}}' is not a template variable")
    name, rest = match.group(), body[match.end() :]
    if name in PLAIN_VARIABLES:
        if rest.strip():
            return TemplateIssue(f"template variable '{name}' takes no arguments")
        return None
    if name in DATE_VARIABLES:
        if not _DATE_ARGS.match(rest):
            return TemplateIssue(
                f"'{{{{{body}}}}}' needs a quoted format",
                f"write {{{{{name} 'YYYYMMDD'}}}} or {{{{{name} 'YYYYMMDD' tz='Europe/Paris'}}}}",
            )
        return None
    known = sorted(PLAIN_VARIABLES | DATE_VARIABLES)
    hint = did_you_mean(name, known) or f"known: {', '.join(known)}"
    return TemplateIssue(f"unknown template variable '{name}'", hint)


def _check_block(body: str, open_blocks: list[str]) -> TemplateIssue | None:
    """Check a block tag (``#if X``, ``else``, ``/if``), keeping the open blocks."""
    opened = _BLOCK_OPEN.match(body)
    if opened:
        open_blocks.append(opened.group(1))
        return _check_expression(opened.group(2))
    if body == "else":
        return None if open_blocks else TemplateIssue("'{{else}}' outside an '{{#if}}' block")
    closed = _BLOCK_CLOSE.match(body)
    if closed is None:
        return TemplateIssue(
            f"'{{{{{body}}}}}' is not a template block",
            "blocks are {{#if VAR}}...{{else}}...{{/if}} and {{#unless VAR}}...{{/unless}}",
        )
    expected = open_blocks.pop() if open_blocks else None
    if expected != closed.group(1):
        return TemplateIssue(f"'{{{{{body}}}}}' closes no open '{{{{#{closed.group(1)}}}}}' block")
    return None


def template_issues(text: str) -> Iterator[TemplateIssue]:
    """Every problem with the ``{{ }}`` expressions in ``text``."""
    position = 0
    open_blocks: list[str] = []
    while True:
        start = text.find("{{", position)
        if start < 0:
            break
        end = text.find("}}", start + 2)
        if end < 0:
            yield TemplateIssue("unclosed '{{'", "close it with '}}'")
            return
        inner = text[start + 2 : end]
        body = inner.strip().strip("~").strip()  # Handlebars' {{~ x ~}} whitespace control
        if body.startswith(("#", "/")) or body == "else":
            issue = _check_block(body, open_blocks)
        else:
            issue = _check_expression(body)
        if issue is not None:
            yield issue
        position = end + 2
    for block in reversed(open_blocks):
        yield TemplateIssue(
            f"'{{{{#{block}}}}}' is never closed", f"close it with {{{{/{block}}}}}"
        )
