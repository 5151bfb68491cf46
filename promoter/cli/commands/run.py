"""``promoter run``: the whole pipeline, stage by stage."""

from __future__ import annotations

import click

from promoter.cli.commands.pending import not_available
from promoter.cli.options import file_option, insecure_registry_option, output_option, quiet_option

__all__ = ["STAGES", "run"]

STAGES = ("build", "push", "check", "promote")


@click.command()
@file_option
@click.option("--dry-run", is_flag=True, help="Plan only: the same as 'promoter plan'.")
@click.option(
    "--image", "images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@click.option(
    "--stage",
    "stages",
    default=",".join(STAGES),
    show_default=True,
    metavar="LIST",
    help="Comma-separated stages to run.",
)
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def run(
    pipeline_file: str,
    dry_run: bool,
    images: tuple[str, ...],
    stages: str,
    output: str,
    quiet: bool,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Run the pipeline: build, push to staging, check, promote."""
    wanted = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STAGES]
    if unknown or not wanted:
        raise click.BadParameter(
            f"unknown stage {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(STAGES)}",
            param_hint="--stage",
        )
    not_available("plan --dry-run" if dry_run else "run", 6)
