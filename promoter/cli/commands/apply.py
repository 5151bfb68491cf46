"""``promoter apply``: carry out a reviewed plan exactly as written."""

from __future__ import annotations

import click

from promoter.cli.options import insecure_registry_option, output_option, quiet_option
from promoter.cli.render import emit_run_report

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
    from promoter.cli.interrupts import graceful_interrupts
    from promoter.cli.progress import live_display, progress_for
    from promoter.pipeline import apply_plan_file

    listener = progress_for(quiet)
    with graceful_interrupts(), live_display(listener):
        report = apply_plan_file(
            plan_file, insecure_registries=insecure_registries, ca_file=ca_file, listener=listener
        )
    return emit_run_report(report)
