"""``promoter schema``: print the pipeline.yml JSON Schema."""

from __future__ import annotations

import sys

import click

__all__ = ["schema"]


@click.command()
def schema() -> None:
    """Print the pipeline.yml JSON Schema (draft 2020-12).

    Editors can use it: put '# yaml-language-server: $schema=<path>' at the
    top of pipeline.yml after 'promoter schema > pipeline.schema.json'.
    """
    from promoter.config import schema_text

    sys.stdout.write(schema_text())
