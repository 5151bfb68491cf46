"""``promoter copy``: digest-preserving copy of an image, index or artifact."""

from __future__ import annotations

import sys

from promoter.cli.options import insecure_registry_option, output_option, quiet_option
from promoter.cli.params import argument, int_range, option
from promoter.cli.parsing import command
from promoter.cli.render import emit, log
from promoter.cli.state import current_state
from promoter.errors import ConfigError, InputError
from promoter.units import format_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from promoter.transfer import BatchReport

__all__ = ["copy", "render_copy"]


@command()
@argument("source", metavar="SRC", required=False)
@argument("destination", metavar="DST", required=False)
@option(
    "--batch",
    default=None,
    metavar="FILE",
    help="Copy every 'SRC DST' line of FILE ('-' for stdin) in one session, --jobs at a time.",
)
@option("--referrers", flag=True, help="Also copy signatures, SBOMs and attestations.")
@option("--no-clobber", flag=True, help="Refuse to move a tag that exists at another digest.")
@option(
    "--preserve-digests",
    flag=True,
    help="Into an OCI layout (oci:DIR), keep Docker media types and digests as they are "
    "(default: convert them to OCI media types, which skopeo and umoci need).",
)
@option(
    "--jobs",
    "-j",
    convert=int_range(1, 64),
    metavar="N",
    default=4,
    show_default=True,
    help="Blobs copied in parallel.",
)
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def copy(
    source: str | None,
    destination: str | None,
    batch: str | None,
    referrers: bool,
    no_clobber: bool,
    preserve_digests: bool,
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

    Into an OCI layout, Docker media types become OCI ones (as skopeo writes a
    layout): the manifests get new digests, the blobs keep theirs, and the
    report names both digests. --preserve-digests copies them as they are.
    """
    # here, not at the top: registry+transfer into --help (+91 modules, 100 ms)
    from promoter.cli.progress import live_display, progress_for
    from promoter.registry.access.options import RegistryOptions
    from promoter.transfer import CopyOptions, copy_image, copy_many

    pairs = _pairs(source, destination, batch)
    listener = progress_for(quiet)
    options = CopyOptions(
        jobs=jobs, referrers=referrers, no_clobber=no_clobber, preserve_digests=preserve_digests
    )
    registry_options = RegistryOptions.from_settings(
        current_state().settings(), insecure_registries=insecure_registries, ca_file=ca_file
    )
    with live_display(listener):
        if batch is None:
            result = copy_image(
                pairs[0][0],
                pairs[0][1],
                options=options,
                registry_options=registry_options,
                listener=listener,
            )
        else:
            many = copy_many(
                pairs, options=options, registry_options=registry_options, listener=listener
            )
    if batch is None:
        _note_docker_layout(result.to_dict(), preserve_digests)
        emit(result.to_dict(), render_copy)
        return
    _report_batch(many, pairs, preserve_digests)


def _report_batch(many: BatchReport, pairs: list[tuple[str, str]], preserve_digests: bool) -> None:
    """Emit a batch's copies and failures; raise the first failure after logging each."""
    doc = {
        "copies": [r.to_dict() for r in many.results if r is not None],
        "failed": [
            {"source": pairs[i][0], "destination": pairs[i][1], "error": e.to_dict()}
            for i, e in sorted(many.errors.items())
        ],
    }
    for done in doc["copies"]:
        _note_docker_layout(done, preserve_digests)
    first = many.first_error
    if first is None or current_state().output != "json":
        emit(doc, lambda d: "\n".join(render_copy(c) for c in d["copies"]))
    if first is not None:
        for i, error in sorted(many.errors.items()):
            log(f"failed: {pairs[i][0]} -> {pairs[i][1]}: {error.message}")
        raise first


def _note_docker_layout(doc: dict[str, Any], preserve_digests: bool) -> None:
    """Under --preserve-digests, say when a layout now holds Docker media types."""
    if not (preserve_digests and doc["destination"].startswith("oci:")):
        return
    # here, not at the top: oci.convert into --help and every copy (+11 modules, 12 ms);
    # and only into a layout: a registry copy's report needs none of it (1-2 ms a copy)
    from promoter.oci.convert import is_docker_media_type

    if is_docker_media_type(doc["mediaType"]):
        log(
            f"note: {doc['destination']} holds Docker media types ({doc['mediaType']}), "
            "as --preserve-digests asked; skopeo and umoci refuse them in an OCI layout "
            "(copy without --preserve-digests to convert them to OCI media types)"
        )


def _batch_text(batch: str) -> str:
    """The --batch file (or stdin for '-'): bounded, UTF-8 text, not binary."""
    # here, not at the top: config's model into --help, copy w/o --batch (+9 modules, 15 ms)
    from promoter.config.inputfile import MAX_FILE_BYTES, read_input_text

    if batch != "-":
        text = read_input_text(batch, what="batch file")
    else:
        raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError(f"a batch file is limited to {MAX_FILE_BYTES} bytes", file="-")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ConfigError(f"not UTF-8 text (byte 0x{raw[error.start]:02x})", file="-") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ConfigError("binary data (a NUL byte), not 'SRC DST' lines", file=batch, line=line)
    return text


def _pairs(source: str | None, destination: str | None, batch: str | None) -> list[tuple[str, str]]:
    if batch is None:
        if not source or not destination:
            raise InputError(
                "copy needs SRC and DST", hint="promoter copy SRC DST, or --batch FILE"
            )
        return [(source, destination)]
    if source or destination:
        raise InputError("give either SRC DST or --batch FILE, not both")
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(_batch_text(batch).splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2:
            shown = line.strip()[:80]
            raise InputError(f"{batch}:{number}: expected 'SRC DST', got {shown!r}")
        pairs.append((words[0], words[1]))
    if not pairs:
        raise InputError(f"{batch}: no 'SRC DST' lines")
    return pairs


def render_copy(doc: dict[str, Any]) -> str:
    """The text form of a copy result."""
    head = f"{doc['source']} -> {doc['destination']}"
    lines = [
        f"{head}: up to date" if doc["upToDate"] else f"{head}: copied",
        f"digest: {doc['digest']}",
    ]
    if doc.get("converted"):
        lines.append(
            f"source digest: {doc['sourceDigest']} ({doc['sourceMediaType']}, "
            f"written as {doc['mediaType']})"
        )
    blobs, size = doc["blobs"], doc["bytes"]
    if not doc["upToDate"]:
        lines.append(
            f"blobs: {blobs['copied']} copied ({format_size(size['copied'])}), "
            f"{blobs['mounted']} mounted ({format_size(size['mounted'])}), "
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
