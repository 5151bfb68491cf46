"""``promoter build``: build images with kaniko and push them to staging."""

from __future__ import annotations

import click

from promoter.cli.commands.pending import not_available
from promoter.cli.options import file_option, insecure_registry_option, output_option, quiet_option

__all__ = ["build"]


@click.command()
@file_option
@click.option(
    "--image", "images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@click.option("--no-push", is_flag=True, help="Build only; keep the tarball, push nothing.")
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def build(
    pipeline_file: str,
    images: tuple[str, ...],
    no_push: bool,
    output: str,
    quiet: bool,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Build the pipeline's images with kaniko (no BuildKit) and push them to staging."""
    not_available("build", 4)
