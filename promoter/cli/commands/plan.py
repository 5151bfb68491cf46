"""``promoter plan``: the dry run (same as ``promoter run --dry-run``)."""

from __future__ import annotations

import click

from promoter.cli.commands.pending import not_available
from promoter.cli.options import file_option, insecure_registry_option, output_option

__all__ = ["plan"]


@click.command()
@file_option
@output_option("text", "json")
@click.option("--out", "out_file", metavar="FILE", help="Write the plan as JSON to FILE.")
@click.option(
    "--image", "images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@insecure_registry_option
def plan(
    pipeline_file: str,
    output: str,
    out_file: str | None,
    images: tuple[str, ...],
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Compute and print everything 'promoter run' would do, writing nothing.

    Needs only read access to the registries. Each destination tag gets one
    action: copy, tag, noop, conflict, blocked or skipped.
    """
    not_available("plan", 6)
