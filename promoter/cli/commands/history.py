"""``promoter history``: a production tag's promotions and rollbacks, newest first."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from promoter.cli.options import insecure_registry_option, optional_file_option, output_option
from promoter.cli.params import argument, int_range, option
from promoter.cli.parsing import command
from promoter.cli.render import emit
from promoter.cli.state import current_state

if TYPE_CHECKING:
    from promoter.promote.history import History, HistoryEntry

__all__ = ["history", "render_history", "render_history_markdown"]


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "-"


def _previous(entry: HistoryEntry) -> str:
    if not entry.previous_known:
        return "unknown"
    return entry.previous or "none (new tag)"


def render_history(found: History) -> str:
    """The text form: one block per entry, newest first, then where the walk stopped."""
    lines = [f"history of {found.reference} (now {found.digest or 'nothing'})"]
    for entry in found.entries:
        if entry.kind == "missing":
            lines.append(f"- {entry.digest}  missing step: {entry.note}")
            continue
        lines.append(f"- {entry.digest}  {entry.kind}  {entry.at or '-'}")
        lines.append(f"    tags: {', '.join(entry.tags) or '-'}; before: {_previous(entry)}")
        lines.append(
            f"    git: {entry.ref or '-'} @ {(entry.commit or '-')[:12]}; run: {entry.run_url or '-'}"
        )
        lines.append(
            f"    checks passed: {', '.join(entry.checks) or '-'}; "
            f"signed by: {', '.join(entry.signers) or '-'}"
        )
        if entry.kind == "rollback":
            skipped = "; policy checks skipped" if entry.skipped_checks else ""
            lines.append(f"    reason: {entry.reason or '-'}{skipped}")
    lines.append(f"end: {found.end}")
    lines += [f"skipped: {s}" for s in found.skipped]
    return "\n".join(lines)


def _cell(value: object) -> str:
    """A Markdown table cell: one line, HTML and pipes escaped (text from records is
    text we did not write)."""
    text = html.escape("" if value is None else str(value), quote=False)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ") or "-"


def render_history_markdown(found: History) -> str:
    """A Markdown table, newest first (for a job summary or an incident review)."""
    lines = [
        f"### History of `{_cell(found.reference)}`",
        "",
        "| digest | kind | tags | at | before | git | run | checks passed | signers | reason |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in found.entries:
        git = f"{e.ref or '-'} @ {(e.commit or '-')[:12]}" if e.kind != "missing" else "-"
        reason = e.note if e.kind == "missing" else e.reason
        if e.skipped_checks:
            reason = f"{reason or ''} (policy checks skipped)"
        cells = [
            f"`{_short(e.digest)}`",
            e.kind,
            ", ".join(e.tags),
            e.at,
            (_short(e.previous) if e.previous else "none (new tag)")
            if e.previous_known
            else "unknown",
            git,
            e.run_url,
            ", ".join(e.checks),
            ", ".join(e.signers),
            reason,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", f"_{_cell(found.end)}_"]
    return "\n".join(lines)


@command()
@argument("reference", metavar="REF")
@option(
    "--limit",
    convert=int_range(1, 1000),
    metavar="N",
    default=20,
    show_default=True,
    help="At most N entries.",
)
@optional_file_option("Take the registries' settings (insecure, auth) from this pipeline file.")
@output_option("text", "json", "markdown")
@insecure_registry_option
def history(
    reference: str,
    limit: int,
    pipeline_file: str | None,
    output: str,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Show the promotions and rollbacks of the production tag REF (host/repo:tag).

    Newest first, from the promotion records next to each digest: digest, kind,
    tags written, when, git commit and ref, run URL, checks passed, signers and a
    rollback's reason. Each record names the digest the tag named before, and the
    walk follows it back until the tag was new, a step has no record (the tag was
    moved by another tool), or --limit.
    """
    # here, not at the top: pipeline.history into --help (+121 modules, 105 ms)
    from promoter.pipeline.history import history as walk

    found = walk(
        reference,
        limit=limit,
        pipeline_file=pipeline_file,
        insecure_registries=insecure_registries,
        ca_file=ca_file,
        settings=current_state().settings(),
    )
    markdown = current_state().output == "markdown"
    emit(
        found.to_dict(), lambda _: (render_history_markdown if markdown else render_history)(found)
    )
