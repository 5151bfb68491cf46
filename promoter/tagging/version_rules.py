"""What each rule type yields for a context (one value, or nothing).

``schedule`` fires on schedule events; ``semver``, ``pep440`` and ``match``
read the git tag (or their ``value=``); ``edge`` fires on the default (or
named) branch; ``ref`` yields the branch, the tag or ``pr-<n>``; ``raw`` its
value; ``sha`` the commit. Each value gets the rule's prefix and suffix, or
the flavor's when the rule sets none.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from promoter.errors import InputError
from promoter.tagging.flavor import Flavor
from promoter.tagging.rules import TagRule
from promoter.tagging.templates import is_single_path, render
from promoter.tagging.versions import parse_pep440, parse_semver

if TYPE_CHECKING:
    from promoter.tagging.engine import Version
    from promoter.tagging.expressions import Expressions

__all__ = ["evaluate_rule", "js_match"]


def js_match(pattern: str, text: str) -> list[Any] | None:
    """JavaScript's ``text.match(pattern)``: groups of the first match (``/re/flags`` allowed).

    With the ``g`` flag JavaScript returns every whole match instead of groups.
    """
    literal = re.fullmatch(r"/(.+)/(.*)", pattern, re.S)
    flags = 0
    source = pattern
    global_flag = False
    if literal:
        source = literal.group(1)
        for flag in literal.group(2):
            if flag == "i":
                flags |= re.I
            elif flag == "m":
                flags |= re.M
            elif flag == "s":
                flags |= re.S
            elif flag == "g":
                global_flag = True
    try:
        compiled = re.compile(source, flags)
    except re.error as error:
        raise InputError(f"invalid regular expression {pattern!r}: {error}") from error
    if global_flag:
        found = [m.group(0) for m in compiled.finditer(text)]
        return found or None
    match = compiled.search(text)
    if not match:
        return None
    return [match.group(0), *match.groups()]


class _Evaluation:
    def __init__(self, rule: TagRule, flavor: Flavor, expressions: Expressions) -> None:
        self.rule = rule
        self.attrs = rule.attrs
        self.flavor = flavor
        self.expressions = expressions
        self.context = expressions.context

    def latest(self, auto: bool) -> bool:
        return auto if self.flavor.latest == "auto" else self.flavor.latest == "true"

    def decorate(self, value: str) -> str:
        render_global = self.expressions.render
        if "prefix" in self.attrs:
            value = render_global(self.attrs["prefix"]) + value
        elif self.flavor.prefix:
            value = render_global(self.flavor.prefix) + value
        if "suffix" in self.attrs:
            value += render_global(self.attrs["suffix"])
        elif self.flavor.suffix:
            value += render_global(self.flavor.suffix)
        return value

    def tag_source(self) -> str | None:
        """The text a semver/pep440/match rule reads: its value, else the git tag."""
        if self.attrs["value"]:
            return self.expressions.render(self.attrs["value"])
        if self.context.ref.startswith("refs/tags/"):
            return self.context.ref[len("refs/tags/") :]
        return None

    def version_text(self) -> str | None:
        raw = self.tag_source()
        if raw is None:
            return None
        if self.attrs["match"]:
            found = js_match(self.attrs["match"], raw)
            if found:
                raw = found[1] if len(found) > 1 and found[1] is not None else ""
        return raw.replace("/", "-")

    def schedule(self) -> tuple[str, bool] | None:
        if "schedule" not in self.context.event_name:
            return None
        value = render(self.attrs["pattern"], self.expressions.dates())
        return self.decorate(value), self.latest(False)

    def semver(self) -> tuple[str, bool] | None:
        raw = self.version_text()
        parsed = parse_semver(raw) if raw is not None else None
        if parsed is None:
            return None
        pattern = self.attrs["pattern"]
        if parsed.is_prerelease and not is_single_path(pattern, "raw"):
            pattern = "{{version}}"
        value = render(pattern, parsed.template_context())
        return self.decorate(value), self.latest(not parsed.is_prerelease)

    def pep440(self) -> tuple[str, bool] | None:
        raw = self.version_text()
        parsed = parse_pep440(raw) if raw is not None else None
        if parsed is None:
            return None
        if parsed.is_final:
            value = render(self.attrs["pattern"], parsed.template_context())
        elif is_single_path(self.attrs["pattern"], "raw"):
            value = raw or ""
        else:
            value = parsed.normalized
        return self.decorate(value), self.latest(parsed.is_final)

    def match(self) -> tuple[str, bool] | None:
        raw = self.tag_source()
        if raw is None:
            return None
        found = js_match(self.attrs["pattern"], raw)
        group = int(self.attrs["group"])
        if not found or group >= len(found) or found[group] is None:
            return None
        return self.decorate(str(found[group])), self.latest(True)

    def edge(self) -> tuple[str, bool] | None:
        branch = self.context.branch
        if not self.context.ref.startswith("refs/heads/"):
            return None
        wanted = self.attrs["branch"] or self.expressions.repository.default_branch
        if wanted != branch:
            return None
        return self.decorate("edge"), self.latest(False)

    def ref(self) -> tuple[str, bool] | None:
        event = self.attrs["event"]
        if event == "branch" and self.context.ref.startswith("refs/heads/"):
            return self.decorate(self.context.branch), self.latest(False)
        if event == "tag" and self.context.ref.startswith("refs/tags/"):
            return self.decorate(self.context.tag), self.latest(True)
        if event == "pr" and self.context.ref.startswith("refs/pull/"):
            return self.decorate(self.context.pull_request), self.latest(False)
        return None

    def raw(self) -> tuple[str, bool] | None:
        return self.decorate(self.expressions.render(self.attrs["value"])), self.latest(False)

    def sha(self) -> tuple[str, bool] | None:
        if not self.context.sha:
            return None
        long = self.attrs["format"] == "long"
        value = self.context.sha if long else self.expressions.short_sha()
        return self.decorate(value), self.latest(False)


def evaluate_rule(
    rule: TagRule, version: Version, flavor: Flavor, expressions: Expressions
) -> None:
    """Add what ``rule`` yields (if anything) to ``version``."""
    evaluation = _Evaluation(rule, flavor, expressions)
    result = getattr(evaluation, rule.type)()
    if result is not None:
        version.add(*result)
