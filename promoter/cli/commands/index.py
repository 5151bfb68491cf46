"""``promoter index``: stitch per-platform images into one OCI index."""

from __future__ import annotations

from typing import Any

from promoter.cli.options import insecure_registry_option, output_option, quiet_option
from promoter.cli.params import argument
from promoter.cli.parsing import group
from promoter.cli.render import emit
from promoter.cli.state import current_state
from promoter.untrusted import one_line as _v

__all__ = ["index"]


@group()
def index() -> None:
    """Work with image indexes (multi-platform images)."""


def _text(result: dict[str, Any]) -> str:
    lines = [f"{_v(result['destination'])}@{_v(result['digest'])}"]
    lines += [
        f"  {_v(entry['platform']):<20} {_v(entry['digest'])}  ({_v(entry['source'])})"
        for entry in result["manifests"]
    ]
    return "\n".join(lines)


@index.command("create")
@argument("destination", metavar="DST")
@argument("sources", metavar="SRC...", many=True)
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def create(
    destination: str,
    sources: tuple[str, ...],
    output: str,
    quiet: bool,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Create DST (host/repo:tag or oci:PATH:TAG) as an OCI index of the images SRC...

    Each SRC is a single-platform image (its platform is read from its config)
    or an index whose platforms are taken over. The sources' content is copied
    into DST's repository first; the index is written last.
    """
    # here, not at the top: build.index and registry into --help (+116 modules, 90 ms)
    from promoter.build.index import create_index
    from promoter.registry import RegistryOptions

    registry_options = RegistryOptions.from_settings(
        current_state().settings(), insecure_registries=insecure_registries, ca_file=ca_file
    )
    result = create_index(destination, sources, registry_options=registry_options)
    emit(result.to_dict(), _text)
