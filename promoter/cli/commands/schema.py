"""``promoter schema``: print the pipeline.yml (or, with ``--plan``, the plan file's) JSON Schema."""

from __future__ import annotations

import sys

from promoter.cli.params import option
from promoter.cli.parsing import command

__all__ = ["schema"]


@command()
@option(
    "--plan",
    dest="plan",
    flag=True,
    help="Print the schema of plan files (promoter.plan/v1) instead.",
)
def schema(plan: bool) -> None:
    """Print the pipeline.yml JSON Schema (draft 2020-12).

    Editors can use it: put '# yaml-language-server: $schema=<path>' at the
    top of pipeline.yml after 'promoter schema > pipeline.schema.json'.
    With --plan, the schema 'promoter apply' checks a plan file against.
    """
    # here, not at the top: config.schema into --help (+32 modules, 27 ms)
    from promoter.config.schema import plan_schema_text, schema_text

    sys.stdout.write(plan_schema_text() if plan else schema_text())
