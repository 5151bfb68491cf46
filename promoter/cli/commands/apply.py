"""``promoter apply``: carry out a reviewed plan exactly as written."""

from __future__ import annotations

import click

from promoter.cli.commands.pending import not_available
from promoter.cli.options import insecure_registry_option, output_option, quiet_option

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
) -> None:
    """Apply a plan written by 'promoter plan --out', refusing if the world moved.

    Exits 1 and writes nothing when a source digest or a destination tag has
    changed since the plan was made.
    """
    not_available("apply", 6)
