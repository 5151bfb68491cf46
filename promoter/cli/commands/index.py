"""``promoter index``: stitch per-platform images into one OCI index."""

from __future__ import annotations

import click

from promoter.cli.commands.pending import not_available
from promoter.cli.options import insecure_registry_option, output_option

__all__ = ["index"]


@click.group()
def index() -> None:
    """Work with image indexes (multi-platform images)."""


@index.command("create")
@click.argument("destination", metavar="DST")
@click.argument("sources", metavar="SRC...", nargs=-1, required=True)
@output_option("text", "json")
@insecure_registry_option
def create(
    destination: str,
    sources: tuple[str, ...],
    output: str,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Create DST as an OCI index of the per-platform images SRC..."""
    not_available("index create", 4)
