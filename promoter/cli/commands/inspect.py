"""``promoter inspect``: what a reference resolves to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from promoter.cli.options import insecure_registry_option, output_option
from promoter.cli.params import argument, option
from promoter.cli.parsing import command
from promoter.cli.render import emit, log
from promoter.cli.state import current_state
from promoter.untrusted import one_line as _v

if TYPE_CHECKING:
    from promoter.registry.inspect import Inspection

__all__ = ["inspect", "render_inspection"]


def render_inspection(found: Inspection) -> str:
    """The text form: one ``Key: value`` line each."""
    lines = [
        f"Reference:  {_v(found.reference)}",
        f"Digest:     {_v(found.digest)}",
        f"Media type: {_v(found.media_type)}",
        f"Size:       {found.size} bytes",
    ]
    if found.artifact_type:
        lines.append(f"Artifact:   {_v(found.artifact_type)}")
    if found.config_media_type:
        lines.append(f"Config:     {_v(found.config_media_type)}")
    if found.layers is not None:
        lines.append(f"Layers:     {found.layers}")
    if found.subject:
        lines.append(f"Subject:    {_v(found.subject)}")
    if found.platforms:
        lines.append("Platforms:")
        lines.extend(
            f"  {_v(p.platform or '-'):<16} {_v(p.digest)}  {p.size} bytes" for p in found.platforms
        )
    lines.append(f"Tags:       {', '.join(_v(t) for t in found.tags) if found.tags else '-'}")
    return "\n".join(lines)


@command()
@argument("reference", metavar="REF")
@option("--raw", flag=True, help="Print the manifest bytes exactly as stored.")
@option("--config", dest="show_config", flag=True, help="Print the image config.")
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
    """Show the digest, media type, platforms, size and tags of REF.

    REF is host/repo:tag, host/repo@sha256:..., oci:PATH[:tag] or
    docker-archive:PATH. --raw and --config print bytes exactly as stored.
    """
    # here, not at the top: the registry client into --help (+72 modules, 50 ms)
    from promoter.registry.access.options import RegistryOptions
    from promoter.registry.inspect import inspect_reference

    options = RegistryOptions.from_settings(
        current_state().settings(), insecure_registries=insecure_registries, ca_file=ca_file
    )
    found = inspect_reference(
        reference, options, with_config=show_config, with_tags=not (raw or show_config)
    )
    if raw or (show_config and found.config is not None and output != "json"):
        exact = current_state().boundary.write_bytes(found.raw if raw else found.config or b"")
        if not exact:
            log(
                "note: these bytes hold text a CI service would run as a command, so it was "
                "escaped as JSON escapes it (same values, other bytes); redirect stdout to a "
                "file (> FILE) for the exact bytes"
            )
        return
    emit(found.to_dict(), lambda _: render_inspection(found))
