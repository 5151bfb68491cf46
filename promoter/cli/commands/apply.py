"""``promoter apply``: carry out a reviewed plan exactly as written."""

from __future__ import annotations

import sys

import click

from promoter.cli.options import insecure_registry_option, output_option, quiet_option
from promoter.cli.render import emit

__all__ = ["apply"]


@click.command()
@click.argument("plan_file", metavar="PLAN.json")
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def apply(
    plan_file: str,
    output: str,
    quiet: bool,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> int:
    """Apply a plan written by 'promoter plan --out', refusing if the world moved.

    Exits 1 and writes nothing when a source digest or a destination tag has
    changed since the plan was made.
    """
    from promoter.cli.interrupts import EXIT_INTERRUPTED, graceful_interrupts, interrupted_summary
    from promoter.cli.progress import live_display, progress_for
    from promoter.pipeline import apply_plan_file
    from promoter.pipeline.render import render_text

    listener = progress_for(quiet)
    with graceful_interrupts(), live_display(listener):
        report = apply_plan_file(
            plan_file, insecure_registries=insecure_registries, ca_file=ca_file, listener=listener
        )
    document = report.to_dict()
    interrupted = interrupted_summary(document)
    emit(document, lambda _doc: render_text(report))
    if interrupted:
        sys.stderr.write("\n".join(interrupted) + "\n")
        return EXIT_INTERRUPTED
    problem = report.problem()
    if problem:
        sys.stderr.write(f"error: {problem}\n")
    return report.exit_code
