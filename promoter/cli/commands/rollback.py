"""``promoter rollback``: a mutable production tag back, on every destination at once."""

from __future__ import annotations

from promoter.cli.options import file_option, insecure_registry_option, output_option
from promoter.cli.params import argument, option
from promoter.cli.parsing import command
from promoter.cli.render import emit_run_report, log
from promoter.cli.state import current_state
from promoter.structs import replace

__all__ = ["rollback"]


@command()
@argument("image")
@option(
    "--tag",
    dest="tag",
    required=True,
    metavar="TAG",
    envvar="PROMOTER_ROLLBACK_TAG",
    help="The mutable tag to move back (or PROMOTER_ROLLBACK_TAG).",
)
@option(
    "--to",
    dest="to",
    default="previous",
    show_default=True,
    metavar="previous|DIGEST",
    envvar="PROMOTER_ROLLBACK_TO",
    help="The digest the tag named before (from the records), or this promoted digest "
    "(or PROMOTER_ROLLBACK_TO).",
)
@option(
    "--reason",
    default="",
    metavar="TEXT",
    envvar="PROMOTER_ROLLBACK_REASON",
    help="Why; kept in the rollback record (or PROMOTER_ROLLBACK_REASON).",
)
@option(
    "--skip-checks",
    flag=True,
    default=False,
    help="Do not check the policies again on the target (written into the record).",
)
@option("--dry-run", flag=True, default=False, help="Print the plan; write nothing.")
@option(
    "--out", dest="out_file", metavar="FILE", help="Write the plan to FILE for 'promoter apply'."
)
@file_option
@output_option("text", "json")
@insecure_registry_option
def rollback(
    image: str,
    tag: str,
    to: str,
    reason: str,
    skip_checks: bool,
    dry_run: bool,
    out_file: str | None,
    pipeline_file: str,
    output: str,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> int:
    """Move the mutable TAG of IMAGE back on every destination of its promote rules.

    The target is the digest TAG named before (--to previous, from the promotion
    records) or --to DIGEST; it must be a promoted digest in every destination,
    and the policies are checked on it again unless --skip-checks. All
    destinations move or none. An immutable tag is refused (exit 1), and so are
    destinations that disagree on the previous digest; a tag no rule writes is
    exit 2. --out writes the plan (nothing else); --dry-run prints it.
    """
    # here, not at the top: pipeline.rollback into --help (+197 modules, 225 ms)
    from promoter.cli.interrupts import graceful_interrupts
    from promoter.pipeline import RollbackRequest, rollback_tag

    request = RollbackRequest(
        image,
        tag,
        pipeline_file,
        to=to,
        reason=reason,
        skip_checks=skip_checks,
        dry_run=dry_run or out_file is not None,
        insecure_registries=insecure_registries,
        ca_file=ca_file,
        settings=current_state().settings(),
    )
    with graceful_interrupts() as stop:
        report = rollback_tag(replace(request, stop=stop))
    if out_file and report.plan is not None:
        report.plan.write(out_file)
        current_state().plan_file = out_file
        log(f"rollback plan written to {out_file}; carry it out with 'promoter apply {out_file}'")
    return emit_run_report(report)
