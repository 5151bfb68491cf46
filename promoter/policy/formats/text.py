"""The plain-text rendering of a check: one line per result, then a summary.

Messages quote the image (its user, labels, annotations) and the reference names
a registry's repository: every value is shown as one line with no command in it
(``promoter.untrusted.one_line``).
"""

from __future__ import annotations

from promoter.policy.results import CheckReport, RuleResult
from promoter.untrusted import one_line

__all__ = ["render_text", "where"]

_MARK = {"pass": "PASS", "fail": "FAIL", "warn": "WARN"}


def where(result: RuleResult) -> str:
    """``pipeline.yml:12`` (or just the file, or empty)."""
    if result.file is None:
        return ""
    return f"{result.file}:{result.line}" if result.line is not None else result.file


def render_text(report: CheckReport) -> str:
    """``PASS non-root [linux/amd64] runs as user 'app' (pipeline.yml:12)`` lines and a summary."""
    lines = [f"policy check of {one_line(report.reference or report.digest)}@{report.digest}"]
    width = max((len(r.rule) for r in report.results), default=0)
    for result in report.results:
        platform = f" [{one_line(result.platform)}]" if result.platform else ""
        located = f" ({one_line(where(result))})" if where(result) else ""
        rule, message = one_line(result.rule), one_line(result.message)
        lines.append(f"{_MARK[result.status]} {rule:<{width}}{platform} {message}{located}")
    verdict = "passed" if report.ok else "REFUSED"
    lines.append(
        f"{verdict}: {report.count('pass')} passed, {report.count('fail')} failed, "
        f"{report.count('warn')} warnings"
    )
    return "\n".join(lines) + "\n"
