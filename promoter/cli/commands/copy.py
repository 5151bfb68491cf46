"""``promoter copy``: digest-preserving copy of an image, index or artifact."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import click

from promoter.cli.options import insecure_registry_option, output_option, quiet_option
from promoter.cli.render import emit

__all__ = ["copy", "render_copy"]


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
    (SRC only) docker-archive:PATH. Blobs already at DST are skipped, blobs in
    the same registry are mounted, the rest stream with constant memory.
    """
    from promoter.cli.progress import TerminalProgress, progress_for
    from promoter.registry.options import RegistryOptions
    from promoter.transfer import CopyOptions, copy_image

    listener = progress_for(quiet)
    display: AbstractContextManager[Any] = (
        listener if isinstance(listener, TerminalProgress) else nullcontext()
    )
    with display:
        result = copy_image(
            source,
            destination,
            options=CopyOptions(jobs=jobs, referrers=referrers, no_clobber=no_clobber),
            registry_options=RegistryOptions.from_environment(
                insecure_registries=insecure_registries, ca_file=ca_file
            ),
            listener=listener,
        )
    emit(result.to_dict(), render_copy)


def _mib(n: object) -> str:
    return f"{int(str(n)) / (1 << 20):.1f} MiB"


def render_copy(doc: dict[str, Any]) -> str:
    """The text form of a copy result."""
    head = f"{doc['source']} -> {doc['destination']}"
    lines = [
        f"{head}: up to date" if doc["upToDate"] else f"{head}: copied",
        f"digest: {doc['digest']}",
    ]
    blobs, size = doc["blobs"], doc["bytes"]
    if not doc["upToDate"]:
        lines.append(
            f"blobs: {blobs['copied']} copied ({_mib(size['copied'])}), "
            f"{blobs['mounted']} mounted ({_mib(size['mounted'])}), "
            f"{blobs['skipped']} already there"
        )
        lines.append(
            f"manifests written: {len(doc['manifestsWritten'])}, "
            f"tags written: {', '.join(doc['tagsWritten']) or 'none'}"
        )
    if doc["referrers"]:
        lines.append(f"referrers: {len(doc['referrers'])}")
    lines.append(f"time: {doc['durationSeconds']:.2f} s")
    return "\n".join(lines)
