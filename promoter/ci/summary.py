"""The job summary: a command's document as Markdown tables, kept under a size bound.

Every value in it came from somewhere (labels and messages from the image, tags
and refs from git, registry messages): each shows as the characters it is, HTML
escaped and its Markdown markup escaped, one table cell each
(``promoter.untrusted``); only promoter's own markup is Markdown.

GitHub drops a step summary over 1 MiB whole; Azure DevOps shows the same
Markdown as a build summary tab. Rows past the bound are cut, and the summary
says how many and where the whole report is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from promoter.ci.annotations import Annotation
from promoter.ci.outputs import StepOutputs
from promoter.units import format_size
from promoter.untrusted import markdown_code, markdown_text

__all__ = ["SUMMARY_LIMIT", "render_summary"]

#: Bytes: under GitHub's 1 MiB, with room for the closing note.
SUMMARY_LIMIT = 1024 * 1024 - 4096

#: How a file is shown: relative to the checkout, as the annotations show it.
Place = Callable[[str], str]

_ICONS = {"succeeded": "✅", "refused": "⛔", "failed": "❌"}


class _Markup(str):
    """Markdown promoter made itself (a code span around an escaped value): kept as it is."""


def _code(value: object) -> _Markup:
    """A value from outside as a code span."""
    return _Markup(markdown_code(value))


def _cell(value: object) -> str:
    """A table cell: one line; a value from outside shows as its characters (HTML escaped,
    Markdown markup and pipes escaped), promoter's own markup as it is."""
    if isinstance(value, _Markup):
        return str(value)
    return markdown_text(value)


def _size(count: Any) -> str:
    return format_size(int(count or 0))


class _Budget:
    """Markdown lines up to a byte bound; counts the table rows it had to leave out."""

    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        self.used = 0
        self.limit = limit
        self.cut = 0

    def add(self, line: str) -> bool:
        size = len(line.encode("utf-8")) + 1
        if self.cut or self.used + size > self.limit:
            self.cut += 1
            return False
        self.lines.append(line)
        self.used += size
        return True

    def table(self, title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        rows = list(rows)
        if not rows:
            return
        self.add("")
        self.add(f"### {title}")
        self.add("")
        self.add("| " + " | ".join(header) + " |")
        self.add("|" + "---|" * len(header))
        for row in rows:
            self.add("| " + " | ".join(_cell(c) for c in row) + " |")


def _where(annotation: Annotation) -> str:
    if not annotation.file:
        return ""
    where = annotation.file
    if annotation.line:
        where += f":{annotation.line}"
    return _code(where)


def _rule_line(result: Mapping[str, object], place: Place) -> str:
    if not (result.get("file") and result.get("line")):
        return ""
    return _code(f"{place(str(result['file']))}:{result['line']}")


def _policy_rows(doc: Mapping[str, Any], place: Place) -> list[list[Any]]:
    """One row per policy result of every image the run checked."""
    rows = []
    for name, check in (doc.get("checks") or {}).items():
        for r in check.get("results") or []:
            line = _rule_line(r, place)
            platform = f" [{r['platform']}]" if r.get("platform") else ""
            rows.append(
                [name, f"{r.get('rule')}{platform}", r.get("status"), r.get("message"), line]
            )
    return rows


def _promotion_table(promotion: Mapping[str, Any], md: _Budget) -> None:
    """What each image's promotion moved, and the run's totals under it."""
    md.table(
        "What moved",
        ["Image", "Status", "Copied", "Mounted", "Seconds", "Message"],
        (
            [
                i.get("image"), i.get("status"), _size(i.get("bytesCopied")),
                _size(i.get("bytesMounted")), i.get("seconds"), i.get("message"),
            ]
            for i in promotion.get("images") or []
        ),
    )  # fmt: skip
    md.add("")
    md.add(
        f"Moved {_size(promotion.get('bytesCopied'))} copied, "
        f"{_size(promotion.get('bytesMounted'))} mounted in {promotion.get('seconds')} s."
    )


def _run_tables(doc: Mapping[str, Any], out: StepOutputs, md: _Budget, place: Place) -> None:
    plan = doc.get("plan") or {}
    tags = {t.get("image"): t for t in doc.get("tags") or []}
    md.table(
        "Images",
        ["Image", "Staging", "Digest", "Tags"],
        (
            [
                image.get("image"),
                image.get("source"),
                _code(image.get("digest")) if image.get("digest") else "unknown",
                ", ".join(tags.get(image.get("image"), {}).get("tagNames") or []),
            ]
            for image in plan.get("images") or []
        ),
    )
    md.table(
        "Policy",
        ["Image", "Rule", "Status", "Message", "Rule in pipeline"],
        _policy_rows(doc, place),
    )
    md.table(
        "Promotions",
        ["Image", "Destination", "Tag", "Action", "Why"],
        (
            [
                image.get("image"),
                a.get("destination"),
                a.get("tag"),
                a.get("action"),
                a.get("reason"),
            ]
            for image in plan.get("images") or []
            for a in image.get("actions") or []
        ),
    )
    promotion = doc.get("promotion")
    if promotion:
        _promotion_table(promotion, md)
    if out.promoted_refs:
        md.table(
            "Promoted",
            ["Image", "Reference"],
            ([name, _code(ref)] for name, refs in out.promoted_refs.items() for ref in refs),
        )


def _check_tables(doc: Mapping[str, Any], md: _Budget, place: Place) -> None:
    md.add("")
    md.add(f"{markdown_code(doc.get('reference'))} at {markdown_code(doc.get('digest'))}")
    md.table(
        "Policy",
        ["Rule", "Status", "Message", "Rule in pipeline"],
        (
            [
                f"{r.get('rule')}{' [' + str(r['platform']) + ']' if r.get('platform') else ''}",
                r.get("status"),
                r.get("message"),
                _rule_line(r, place),
            ]
            for r in doc.get("results") or []
        ),
    )


def _prune_tables(doc: Mapping[str, Any], md: _Budget) -> None:
    applied = doc.get("applied") or {}
    skipped = {e.get("digest"): e.get("skipped") for e in applied.get("skipped") or []}
    md.table(
        "Skipped (changed since the plan)",
        ["Repository", "Digest", "Why"],
        (
            [e.get("repository"), _code(e.get("digest")), e.get("skipped")]
            for e in applied.get("skipped") or []
        ),
    )
    word = "Deleted" if applied else "To delete (dry run)"
    md.table(
        word,
        ["Repository", "Digest", "Tags", "Why"],
        (
            [
                e.get("repository"),
                _code(e.get("digest")),
                ", ".join(e.get("tags") or []),
                e.get("reason"),
            ]
            for e in doc.get("delete") or []
            if e.get("digest") not in skipped
        ),
    )
    md.table(
        "Kept",
        ["Repository", "Digest", "Tags", "Why"],
        (
            [
                e.get("repository"),
                _code(e.get("digest")),
                ", ".join(e.get("tags") or []),
                e.get("reason"),
            ]
            for e in doc.get("keep") or []
        ),
    )


def render_summary(
    command: str,
    document: Mapping[str, Any],
    kind: str,
    outputs: StepOutputs,
    annotations: Sequence[Annotation],
    *,
    limit: int = SUMMARY_LIMIT,
    place: Place = str,
) -> str:
    """The Markdown summary of one command's ``document``."""
    md = _Budget(limit)
    word = outputs.result
    title = f"## {_ICONS.get(word, '')} promoter {markdown_text(command)}: {markdown_text(word)}"
    md.add(title.replace("  ", " "))
    context = document.get("context") or {}
    if context.get("ref") or context.get("sha"):
        md.add("")
        ref, sha = context.get("ref") or "no ref", str(context.get("sha") or "")[:12]
        md.add(f"git {markdown_code(ref)} at {markdown_code(sha)}")
    md.table(
        "Problems",
        ["Level", "What", "Where", "Message"],
        ([a.level, a.title, _where(a), a.message] for a in annotations),
    )
    if kind == "run":
        _run_tables(document, outputs, md, place)
    elif kind == "check":
        _check_tables(document, md, place)
    elif kind == "prune":
        _prune_tables(document, md)
    if outputs.digests and kind != "run":
        md.table(
            "Digests", ["Image", "Digest"], ([k, _code(v)] for k, v in outputs.digests.items())
        )
    if outputs.tags and kind != "run":
        md.table("Tags", ["Tag"], ([t] for t in outputs.tags))
    if document.get("seconds") is not None:
        md.add("")
        md.add(f"Took {document.get('seconds')} s.")
    text = "\n".join(md.lines)
    if md.cut:
        where = f" in {markdown_code(outputs.report)}" if outputs.report else " in the JSON report"
        text += (
            f"\n\n> **Summary cut:** {md.cut} more lines did not fit under the 1 MiB a "
            f"summary may have; the whole report is{where}."
        )
    return text + "\n"
