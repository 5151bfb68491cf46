"""The Markdown rendering of a check, for CI job summaries."""

from __future__ import annotations

from promoter.policy.formats.text import where
from promoter.policy.results import CheckReport

__all__ = ["render_markdown"]

_MARK = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warn"}


def _cell(text: str) -> str:
    """A table cell: pipes escaped, newlines flattened, no raw HTML."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", " ")
    )


def render_markdown(report: CheckReport) -> str:
    """A heading with the verdict, the counts, and a table of every result."""
    verdict = "✅ passed" if report.ok else "❌ refused"
    lines = [
        f"### Policy check {verdict}",
        "",
        f"`{_cell(report.reference or report.digest)}` at `{report.digest}`: "
        f"{report.count('pass')} passed, {report.count('fail')} failed, "
        f"{report.count('warn')} warnings",
        "",
        "| Result | Rule | Platform | Message | Declared at |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in report.results:
        lines.append(
            f"| {_MARK[result.status]} | `{result.rule}` | {_cell(result.platform or '')} "
            f"| {_cell(result.message)} | {_cell(where(result))} |"
        )
    return "\n".join(lines) + "\n"
