"""``promoter check``: policy checks on one image as it is in the registry."""

from __future__ import annotations

import click

from promoter.cli.commands.pending import not_available
from promoter.cli.options import insecure_registry_option, output_option

__all__ = ["check"]


@click.command()
@click.argument("reference", metavar="REF", required=False)
@click.option(
    "--policy", "policy_file", metavar="FILE", help="A YAML file with a 'policies:' list."
)
@click.option(
    "-f", "--file", "pipeline_file", metavar="FILE", help="Take the policies of this pipeline file."
)
@click.option(
    "--facts", "facts_file", metavar="FILE", help="Check saved facts offline instead of REF."
)
@click.option("--facts-out", metavar="FILE", help="Write the gathered image facts to FILE.")
@output_option("text", "json", "sarif", "markdown")
@insecure_registry_option
def check(
    reference: str | None,
    policy_file: str | None,
    pipeline_file: str | None,
    facts_file: str | None,
    facts_out: str | None,
    output: str,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Evaluate policy rules on REF; exit 1 when an enforced rule fails."""
    not_available("check", 5)
