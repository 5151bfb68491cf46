"""``promoter inspect``: what a reference resolves to."""

from __future__ import annotations

import click

from promoter.cli.commands.pending import not_available
from promoter.cli.options import insecure_registry_option, output_option

__all__ = ["inspect"]


@click.command()
@click.argument("reference", metavar="REF")
@click.option("--raw", is_flag=True, help="Print the manifest bytes exactly as stored.")
@click.option("--config", "show_config", is_flag=True, help="Print the image config.")
@output_option("text", "json")
@insecure_registry_option
def inspect(
    reference: str,
    raw: bool,
    show_config: bool,
    output: str,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Show the digest, media type, platforms, size and tags of REF."""
    not_available("inspect", 3)
