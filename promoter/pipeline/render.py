"""The text form of a run report: the plan as a table, then what happened.

Values quote the world (registry messages, rule messages quoting labels, git refs,
names from the pipeline file): each is shown as one line with no CI command in it
(``promoter.untrusted.one_line``, here ``_v``).
"""

from __future__ import annotations

from promoter.pipeline.report import RunReport
from promoter.promote import ImagePlan, PromotionReport
from promoter.units import format_size
from promoter.untrusted import one_line as _v

__all__ = ["render_text"]


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "unknown"


def _image_lines(image: ImagePlan, report: RunReport) -> list[str]:
    where = f"{image.source}@{image.digest}" if image.digest else f"{image.source} (digest unknown)"
    origin = {
        "build": "built in this run",
        "staging-tag": f"staging tag {image.staging_tag}",
        "rollback": "the rollback's target, a digest promoted to every destination",
    }.get(
        image.digest_from,
        "not built yet" + (f": no {image.staging_tag} tag in staging" if image.staging_tag else ""),
    )
    if image.digest_from == "rollback":
        where = str(image.digest)
    lines = [f"{_v(image.image)}: {_v(where)} ({_v(origin)})"]
    check = report.checks.get(image.image)
    if check is not None:
        lines.append(
            f"  check: {check.count('pass')} pass, {check.count('fail')} fail, {check.count('warn')} warn"
        )
        lines += [
            f"    {r.status:<4}  {_v(r.rule)}{f' [{_v(r.platform)}]' if r.platform else ''}: "
            f"{_v(r.message)}"
            for r in check.results
        ]
    elif image.digest and not image.writes:
        lines.append("  check: not needed (nothing to promote)")
    rows = (
        [("ACTION", "DESTINATION", "TAG", "WHY")]
        + [(a.action, _v(a.destination), _v(a.tag), _v(a.reason)) for a in image.actions]
        + [
            (
                s.action,
                _v(s.destination),
                "(signature)",
                _v(s.reason) + (f"; key {s.fingerprint[:19]}" if s.fingerprint else ""),
            )
            for s in image.signs
        ]
    )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        lines.append(
            "  "
            + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3]))
            + "  "
            + row[3]
        )
    return lines


def _promotion_lines(promotion: PromotionReport) -> list[str]:
    lines = ["promotion:"]
    for image in promotion.images:
        moved = ""
        if image.destinations:
            copied, mounted = image.bytes_moved("copied"), image.bytes_moved("mounted")
            moved = f"; {format_size(copied)} copied, {format_size(mounted)} mounted"
        lines.append(
            f"  {_v(image.image)}: {image.status}: {_v(image.message)}{moved} "
            f"({image.seconds:.2f} s)"
        )
        for destination in image.destinations:
            tags = ", ".join(_v(t) for t in destination.tags) or "no tags"
            lines.append(
                f"    {_v(destination.destination)}: {tags}; record {_short(destination.record)}"
            )
    return lines


def render_text(report: RunReport) -> str:
    """The whole report for a terminal."""
    context = report.context
    git = f"{_v(context.get('ref') or 'no ref')} @ {_v((context.get('sha') or 'no commit')[:12])}"
    head = "plan" if report.dry_run else "run"
    lines = [f"{head} of {_v(report.file)} (git: {git}; stages: {', '.join(report.stages)})"]
    if report.plan is not None and report.plan.rollback is not None:
        back = report.plan.rollback
        lines.append(
            f"rollback of {_v(back.tag)} (--to {_v(back.to)}); reason: {_v(back.reason or '-')}"
            + ("; policy checks skipped" if back.skipped_checks else "")
        )
    lines += [f"note: {_v(note)}" for note in report.notes]
    if report.build is not None:
        for built in report.build.images:
            for build in built.builds:
                where = build.pushed.reference if build.pushed else build.digest
                lines.append(
                    f"build {_v(built.image)}: {_v(where)} ({round(build.result.seconds, 3)} s)"
                )
                pushed = build.pushed.tags if build.pushed else ()
                lines += [f"  pushed tag {_v(t)}" for t in pushed]
    if report.plan is not None:
        for image in report.plan.images:
            lines += _image_lines(image, report)
        summary = ", ".join(f"{k} {v}" for k, v in report.plan.summary().items())
        lines.append(f"plan: {summary}")
        if report.plan.unknown:
            lines.append(f"digests still unknown: {', '.join(_v(u) for u in report.plan.unknown)}")
    else:
        for name, check in report.checks.items():
            lines.append(f"check {_v(name)}: {'ok' if check.ok else 'FAILED'} ({check.digest})")
            lines += [f"  {r.status:<4}  {_v(r.rule)}: {_v(r.message)}" for r in check.results]
    if report.promotion is not None:
        lines += _promotion_lines(report.promotion)
        promotion = report.promotion
        lines.append(
            f"moved: {format_size(promotion.bytes_moved('copied'))} copied, "
            f"{format_size(promotion.bytes_moved('mounted'))} mounted"
        )
    lines.append(f"done in {report.seconds:.2f} s (exit {report.exit_code})")
    return "\n".join(lines)
