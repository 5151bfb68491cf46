"""Options shared by several commands, so each means the same everywhere."""

from __future__ import annotations

from collections.abc import Callable

from promoter.cli.params import file_path, option
from promoter.cli.state import CliState

__all__ = [
    "file_option",
    "insecure_registry_option",
    "optional_file_option",
    "output_option",
    "quiet_option",
]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    F = TypeVar("F", bound=Callable[..., object])


def _remember_output(state: CliState, value: str) -> None:
    state.output = value


def _remember_quiet(state: CliState, value: bool) -> None:
    state.quiet = state.quiet or value


def output_option(*formats: str) -> Callable[[F], F]:
    """``--output FORMAT``: text by default; json prints one document on stdout."""
    return option(
        "--output",
        "-o",
        choices=formats or ("text", "json"),
        default="text",
        show_default=True,
        eager=True,
        callback=_remember_output,
        help="Output format (logs always go to stderr).",
    )


def file_option(func: F) -> F:
    """``-f/--file``: the pipeline file."""
    return option(
        "-f",
        "--file",
        dest="pipeline_file",
        default="pipeline.yml",
        show_default=True,
        metavar="FILE",
        help="The pipeline file.",
    )(func)


def optional_file_option(help_text: str) -> Callable[[F], F]:
    """``-f/--file``: a pipeline file the command may do without (``None`` when not given)."""
    return option("-f", "--file", dest="pipeline_file", metavar="FILE", help=help_text)


def quiet_option(func: F) -> F:
    """``--quiet``: no progress lines."""
    return option("--quiet", "-q", flag=True, callback=_remember_quiet, help="No progress output.")(
        func
    )


def _set_max_rps(state: CliState, values: tuple[str, ...]) -> None:
    """Check each ``HOST=N`` and keep them for the run's settings (after the entries of
    ``PROMOTER_MAX_RPS``: the command line wins for a host in both)."""
    if not values:
        return
    # here, not at the top: registry options (ssl, socket) into --help (+71 modules, 40 ms)
    from promoter.registry.access.options import parse_rate_limits

    parse_rate_limits(values)  # InputError (exit 2, one line) for a bad entry
    state.max_rps.extend(values)


def insecure_registry_option(func: F) -> F:
    """``--insecure-registry HOST[:PORT]`` (repeatable), ``--ca-file`` and ``--max-rps``."""
    func = option(
        "--max-rps",
        multiple=True,
        metavar="HOST=N",
        expose=False,
        callback=_set_max_rps,
        help="At most N requests per second to registry HOST from this process, over "
        "pipeline.yml's limits (repeatable; also PROMOTER_MAX_RPS, comma-separated). "
        "With N shards sharing a registry, give each its share.",
    )(func)
    func = option(
        "--insecure-registry",
        dest="insecure_registries",
        multiple=True,
        metavar="HOST[:PORT]",
        help="Reach this registry over plain HTTP or without TLS verification (repeatable; "
        "also PROMOTER_INSECURE_REGISTRIES, comma-separated).",
    )(func)
    return option(
        "--ca-file",
        convert=file_path,
        metavar="FILE",
        help="A PEM bundle of CA certificates to trust for registries.",
    )(func)
