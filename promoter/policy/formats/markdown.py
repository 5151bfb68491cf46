"""The Markdown rendering of a check, for CI job summaries.

Every value from outside (messages quote labels and config values) is HTML-escaped
and its Markdown markup shown as text, in one table cell (``promoter.untrusted``).
"""

from __future__ import annotations

from promoter.policy.formats.text import where
from promoter.policy.results import CheckReport
from promoter.untrusted import markdown_code, markdown_text

__all__ = ["render_markdown"]

_MARK = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warn"}


def render_markdown(report: CheckReport) -> str:
    """A heading with the verdict, the counts, and a table of every result."""
    verdict = "✅ passed" if report.ok else "❌ refused"
    lines = [
        f"### Policy check {verdict}",
        "",
        f"{markdown_code(report.reference or report.digest)} at `{report.digest}`: "
        f"{report.count('pass')} passed, {report.count('fail')} failed, "
        f"{report.count('warn')} warnings",
        "",
        "| Result | Rule | Platform | Message | Declared at |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in report.results:
        lines.append(
            f"| {_MARK[result.status]} | {markdown_code(result.rule)} "
            f"| {markdown_text(result.platform or '')} "
            f"| {markdown_text(result.message)} | {markdown_text(where(result))} |"
        )
    return "\n".join(lines) + "\n"
