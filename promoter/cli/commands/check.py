"""``promoter check``: policy checks on one image as it is in the registry."""

from __future__ import annotations

from promoter.cli.options import insecure_registry_option, optional_file_option, output_option
from promoter.cli.params import argument, option
from promoter.cli.parsing import command
from promoter.cli.render import emit, log
from promoter.cli.state import current_state

__all__ = ["check"]


@command()
@argument("reference", metavar="[REF]", required=False)
@option("--policy", dest="policy_file", metavar="FILE", help="A YAML file with a 'policies:' list.")
@optional_file_option("Take the policies of this pipeline file.")
@option(
    "--facts", dest="facts_file", metavar="FILE", help="Check saved facts offline instead of REF."
)
@option("--facts-out", metavar="FILE", help="Write the gathered image facts to FILE.")
@option(
    "--commit",
    metavar="SHA",
    help="The git commit being promoted, for the provenance rule (default: the checkout's).",
)
@output_option("text", "json", "sarif", "markdown")
@insecure_registry_option
def check(
    reference: str | None,
    policy_file: str | None,
    pipeline_file: str | None,
    facts_file: str | None,
    facts_out: str | None,
    commit: str | None,
    output: str,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> int:
    """Evaluate policy rules on REF; exit 1 when an enforced rule fails.

    Rules come from -f pipeline.yml (the default when it exists) or --policy
    FILE: non-root, required-labels, max-size, platforms, media-types,
    base-image, max-age, no-secrets, referrers, signed (cosign key), schema
    (a JSON Schema on the facts document), provenance (a signed SLSA provenance
    of this commit), vulnerabilities (an attached report's counts per
    severity). --facts-out saves the facts
    gathered from the registry; --facts checks saved facts offline.

    Exit codes: 0 every enforced rule passed, 1 an enforced rule failed,
    2 bad input, 3 the registry could not be read.
    """
    # here, not at the top: policy's checks into --help (+87 modules, 75 ms)
    from promoter.policy.formats import render
    from promoter.policy.imagecheck import CheckRequest, check_image

    report = check_image(
        CheckRequest(
            reference=reference,
            policy_file=policy_file,
            pipeline_file=pipeline_file,
            facts_file=facts_file,
            facts_out=facts_out,
            insecure_registries=insecure_registries,
            ca_file=ca_file,
            commit=commit,
            settings=current_state().settings(),
        )
    )
    if facts_out:
        log(f"facts written to {facts_out}")
    emit(report.to_dict(), lambda _doc: render(report, output))
    return 0 if report.ok else 1
