"""``promoter copy``: digest-preserving copy of an image, index or artifact."""

from __future__ import annotations

import click

from promoter.cli.commands.pending import not_available
from promoter.cli.options import insecure_registry_option, output_option, quiet_option

__all__ = ["copy"]


@click.command()
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@click.option("--referrers", is_flag=True, help="Also copy signatures, SBOMs and attestations.")
@click.option(
    "--no-clobber", is_flag=True, help="Refuse to move a tag that exists at another digest."
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Blobs copied in parallel.",
)
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def copy(
    source: str,
    destination: str,
    referrers: bool,
    no_clobber: bool,
    jobs: int,
    output: str,
    quiet: bool,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Copy SRC to DST by digest: children before parents, tags last.

    SRC and DST are host/repo:tag, host/repo@sha256:..., oci:PATH[:tag] or
    (SRC only) docker-archive:PATH.
    """
    not_available("copy", 3)
