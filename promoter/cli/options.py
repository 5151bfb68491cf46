"""Options shared by several commands, so each means the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from promoter.cli.state import CliState

__all__ = [
    "file_option",
    "insecure_registry_option",
    "output_option",
    "quiet_option",
]

F = TypeVar("F", bound=Callable[..., object])


def _remember_output(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.ensure_object(CliState).output = value
    return value


def _remember_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    state = ctx.ensure_object(CliState)
    state.quiet = state.quiet or value
    return value


def output_option(*formats: str) -> Callable[[F], F]:
    """``--output FORMAT``: text by default; json prints one document on stdout."""
    choices = formats or ("text", "json")
    return click.option(
        "--output",
        "-o",
        type=click.Choice(choices),
        default="text",
        show_default=True,
        is_eager=True,
        callback=_remember_output,
        help="Output format (logs always go to stderr).",
    )


def file_option(func: F) -> F:
    """``-f/--file``: the pipeline file."""
    return click.option(
        "-f",
        "--file",
        "pipeline_file",
        default="pipeline.yml",
        show_default=True,
        metavar="FILE",
        help="The pipeline file.",
    )(func)


def optional_file_option(help_text: str) -> Callable[[F], F]:
    """``-f/--file``: a pipeline file the command may do without (``None`` when not given)."""

    def decorate(func: F) -> F:
        return click.option(
            "-f", "--file", "pipeline_file", default=None, metavar="FILE", help=help_text
        )(func)

    return decorate


def quiet_option(func: F) -> F:
    """``--quiet``: no progress lines."""
    return click.option(
        "--quiet", "-q", is_flag=True, callback=_remember_quiet, help="No progress output."
    )(func)


def _set_max_rps(ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> None:
    """Check each ``HOST=N`` and keep them for the run's settings (after the entries of
    ``PROMOTER_MAX_RPS``: the command line wins for a host in both)."""
    if not values:
        return
    # here, not at the top: registry options (ssl, socket) into --help (+71 modules, 40 ms)
    from promoter.registry.access.options import parse_rate_limits

    parse_rate_limits(values)  # InputError (exit 2, one line) for a bad entry
    ctx.ensure_object(CliState).max_rps.extend(values)


def insecure_registry_option(func: F) -> F:
    """``--insecure-registry HOST[:PORT]`` (repeatable), ``--ca-file`` and ``--max-rps``."""
    func = click.option(
        "--max-rps",
        multiple=True,
        metavar="HOST=N",
        expose_value=False,
        callback=_set_max_rps,
        help="At most N requests per second to registry HOST from this process, over "
        "pipeline.yml's limits (repeatable; also PROMOTER_MAX_RPS, comma-separated). "
        "With N shards sharing a registry, give each its share.",
    )(func)
    func = click.option(
        "--insecure-registry",
        "insecure_registries",
        multiple=True,
        metavar="HOST[:PORT]",
        help="Reach this registry over plain HTTP or without TLS verification (repeatable; "
        "also PROMOTER_INSECURE_REGISTRIES, comma-separated).",
    )(func)
    return click.option(
        "--ca-file",
        type=click.Path(dir_okay=False),
        default=None,
        help="A PEM bundle of CA certificates to trust for registries.",
    )(func)
