"""``promoter tags``: the tags and labels the git context yields."""

from __future__ import annotations

import click

from promoter.cli.commands.pending import not_available
from promoter.cli.options import file_option, output_option

__all__ = ["tags"]


@click.command()
@file_option
@click.option(
    "--image", "images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@output_option("text", "json")
def tags(pipeline_file: str, images: tuple[str, ...], output: str) -> None:
    """Print the tags and OCI labels computed from git and the CI environment."""
    not_available("tags", 4)
