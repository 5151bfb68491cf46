"""``promoter prune``: staging retention, a dry run unless ``--apply``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from promoter.cli.options import file_option, insecure_registry_option, output_option
from promoter.cli.params import option
from promoter.cli.parsing import command
from promoter.cli.render import emit, log
from promoter.cli.state import current_state
from promoter.redaction import redact

if TYPE_CHECKING:
    from promoter.pipeline.prune import PruneReport

__all__ = ["emit_prune_report", "prune", "render_prune"]


def _entry_lines(word: str, entry: dict[str, Any]) -> list[str]:
    tags = ", ".join(entry["tags"]) or "-"
    lines = [f"{word}  {entry['repository']}@{entry['digest']}  tags: {tags}"]
    lines.append(f"        why: {entry['reason']}")
    for step in entry.get("deletes") or []:
        if step["digest"] == entry["digest"]:
            continue
        tagged = f" (tag {', '.join(step['tags'])})" if step["tags"] else ""
        lines.append(f"        with its {step['what']} {step['digest']}{tagged}")
    return lines


def render_prune(document: dict[str, Any]) -> str:
    """The text form: each delete with its tags, why and what goes with it; each keep and why."""
    lines: list[str] = []
    for entry in document["delete"]:
        lines += _entry_lines("delete", entry)
    for entry in document["keep"]:
        lines += _entry_lines("keep  ", entry)
    for note in document["notes"]:
        lines.append(f"note: {note}")
    manifests = sum(len(e.get("deletes") or []) for e in document["delete"])
    requests = sum(r["count"] for r in document["requests"])
    digests = document["stagingDigests"]
    lines.append(
        f"{len(document['delete'])} to delete ({manifests} manifest(s) with their referrers "
        f"and children), {len(document['keep'])} kept, of {digests} staging digest(s) seen; "
        f"planned with {requests} request(s) in {document['planSeconds']:.1f}s"
    )
    applied = document.get("applied")
    if applied is None:
        lines.append("dry run: nothing deleted (--apply, or --out FILE and 'promoter apply FILE')")
        return "\n".join(lines)
    for skipped in applied["skipped"]:
        lines.append(f"skipped {skipped['repository']}@{skipped['digest']}: {skipped['skipped']}")
    lines.append(
        f"deleted {len(applied['deleted'])} digest(s) ({applied['manifestsDeleted']} manifest(s), "
        f"{applied['alreadyGone']} already gone), skipped {len(applied['skipped'])}, "
        f"in {applied['seconds']:.1f}s"
    )
    return "\n".join(lines)


def emit_prune_report(report: PruneReport) -> int:
    """Print a prune report; 1 when a digest was skipped because its world moved."""
    document = report.to_dict()
    emit(document, render_prune)
    if report.exit_code:
        skipped = len(document["applied"]["skipped"])
        sys.stderr.write(
            redact(f"error: {skipped} digest(s) skipped: they changed since the plan") + "\n"
        )
    return report.exit_code


@command()
@file_option
@option("--image", dest="images", multiple=True, metavar="NAME", help="Only this image.")
@option("--out", dest="out_file", metavar="FILE", help="Write the prune plan as JSON to FILE.")
@option("--apply", dest="apply_now", flag=True, help="Delete at once, after the plan.")
@output_option("text", "json")
@insecure_registry_option
def prune(
    pipeline_file: str,
    images: tuple[str, ...],
    out_file: str | None,
    apply_now: bool,
    output: str,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> int:
    """Staging retention: list what the retention rules delete and keep, and why.

    A dry run unless --apply. Promoted digests, children of kept indexes and
    referrers of kept digests are always kept; a digest goes with its
    signatures and other referrers. 'promoter apply FILE' deletes exactly what
    a plan written with --out lists, skipping (exit 1) each digest that
    changed since.
    """
    # here, not at the top: pipeline.prune into --help (+201 modules, 190 ms)
    from promoter.pipeline.prune import PruneRequest, plan_prune, write_prune_plan

    request = PruneRequest(
        pipeline_file=pipeline_file,
        images=images,
        apply=apply_now,
        insecure_registries=insecure_registries,
        ca_file=ca_file,
        settings=current_state().settings(),
    )
    report = plan_prune(request)
    if out_file:
        write_prune_plan(report.plan, out_file)
        current_state().plan_file = out_file
        log(f"prune plan written to {out_file}")
    return emit_prune_report(report)
