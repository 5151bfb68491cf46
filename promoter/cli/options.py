"""Options shared by several commands, so each means the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from promoter.cli.state import CliState

__all__ = [
    "file_option",
    "insecure_registry_option",
    "output_option",
    "quiet_option",
]

F = TypeVar("F", bound=Callable[..., Any])


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


def quiet_option(func: F) -> F:
    """``--quiet``: no progress lines."""
    return click.option(
        "--quiet", "-q", is_flag=True, callback=_remember_quiet, help="No progress output."
    )(func)


def insecure_registry_option(func: F) -> F:
    """``--insecure-registry HOST[:PORT]`` (repeatable) and ``--ca-file``."""
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
