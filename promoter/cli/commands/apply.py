"""``promoter apply``: carry out a reviewed plan exactly as written.

With ``--shard I/N`` the command uploads shard I's share of the plan's blobs
and writes no manifest and no tag; with ``--finish`` it checks that every
destination holds every blob, then applies the plan (tags and records).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promoter.cli.commands.prune import emit_prune_report
from promoter.cli.options import (
    insecure_registry_option,
    optional_file_option,
    output_option,
    quiet_option,
)
from promoter.cli.params import argument, option
from promoter.cli.parsing import command
from promoter.cli.render import emit, emit_run_report
from promoter.cli.state import current_state
from promoter.errors import InputError
from promoter.units import format_size

if TYPE_CHECKING:
    from promoter.promote.shard import ShardReport

__all__ = ["apply"]


@command()
@argument("plan_file", metavar="PLAN.json")
@option(
    "--shard",
    dest="shard_text",
    metavar="I/N|auto",
    default=None,
    help="Upload only shard I of N's share of the blobs; no manifest or tag "
    "(auto: Azure DevOps' SYSTEM_JOBPOSITIONINPHASE/SYSTEM_TOTALJOBSINPHASE).",
)
@optional_file_option(
    "The pipeline file the plan was made from (default: the path the plan records, "
    "which must be in this checkout)."
)
@option(
    "--finish",
    flag=True,
    default=False,
    help="After every shard: check every destination holds every blob, then write the tags.",
)
@option(
    "--skip-checks",
    flag=True,
    default=False,
    help="Apply a rollback plan made with --skip-checks (its policies are skipped again; "
    "the records say so). Without it such a plan is refused.",
)
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def apply(
    plan_file: str,
    shard_text: str | None,
    pipeline_file: str | None,
    finish: bool,
    skip_checks: bool,
    output: str,
    quiet: bool,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> int:
    """Apply a plan written by 'promoter plan --out' (or 'promoter prune --out'),
    refusing if the world moved.

    Exits 1 and writes nothing when a source digest or a destination tag has
    changed since the plan was made, when the pipeline file is not the one the
    plan was made from (its SHA-256), when the plan was made at another git ref
    or commit than this job's (on CI; elsewhere: than the checkout's HEAD),
    when it copies, tags or signs anything its promote rules do not produce,
    or when an enforced policy fails on a digest it writes (checked again, not
    read from the plan; a rollback plan made with --skip-checks needs
    --skip-checks here too). Without -f, the file the plan names must be in this
    checkout (else exit 2). --shard and --finish split the work over several
    CI jobs: every shard first, then one --finish.
    """
    # here, not at the top: registry+transfer into --help (+121 modules, 110 ms)
    from promoter.cli.interrupts import graceful_interrupts
    from promoter.cli.progress import live_display, progress_for

    _check_flags(shard_text, finish, skip_checks)
    if shard_text is None and not finish:
        # here, not at the top: pipeline.prune into --help (+200 modules, 190 ms)
        from promoter.pipeline.prune import is_prune_plan

        if is_prune_plan(plan_file):
            if skip_checks:
                raise InputError("--skip-checks applies a rollback plan, not a prune plan")
            return _prune(plan_file, pipeline_file, insecure_registries, ca_file)
    if shard_text is not None:
        return _shard(plan_file, shard_text, pipeline_file, insecure_registries, ca_file)
    # here, not at the top: pipeline.run into --help (+233 modules, 215 ms)
    from promoter.pipeline import apply_plan_file

    listener = progress_for(quiet)
    with graceful_interrupts() as stop, live_display(listener):
        report = apply_plan_file(
            plan_file,
            finish=finish,
            skip_checks=skip_checks,
            insecure_registries=insecure_registries,
            ca_file=ca_file,
            listener=listener,
            pipeline_file=pipeline_file,
            settings=current_state().settings(),
            stop=stop,
        )
    return emit_run_report(report)


def _check_flags(shard_text: str | None, finish: bool, skip_checks: bool) -> None:
    """Refuse (exit 2) flags that do not go together."""
    if shard_text is not None and finish:
        raise InputError(
            "--shard and --finish go to different jobs: run every --shard I/N first, "
            "then one --finish"
        )
    if skip_checks and (shard_text is not None or finish):
        raise InputError("--skip-checks applies a rollback plan, which is applied whole")


def _prune(
    plan_file: str,
    pipeline_file: str | None,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> int:
    """A prune plan (``"kind": "prune"``): delete exactly what it lists, each checked again."""
    # here, not at the top: pipeline.prune into --help (+200 modules, 190 ms)
    from promoter.pipeline.prune import apply_prune_file

    report = apply_prune_file(
        plan_file,
        insecure_registries=insecure_registries,
        ca_file=ca_file,
        pipeline_file=pipeline_file,
        settings=current_state().settings(),
    )
    return emit_prune_report(report)


def _shard(
    plan_file: str,
    shard_text: str,
    pipeline_file: str | None,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> int:
    # here, not at the top: pipeline.shards into --help (+200 modules, 205 ms)
    from promoter.pipeline import apply_shard_file
    from promoter.promote.shard import parse_shard

    settings = current_state().settings()
    shard = parse_shard(shard_text, settings.environ)
    outcome = apply_shard_file(
        plan_file,
        shard,
        insecure_registries=insecure_registries,
        ca_file=ca_file,
        pipeline_file=pipeline_file,
        settings=settings,
    )
    emit(outcome.to_dict(), lambda _doc: _shard_text(outcome))
    return 0


def _shard_text(outcome: ShardReport) -> str:
    return (
        f"shard {outcome.shard}: {outcome.blobs} of the plan's {outcome.plan_blobs} blob(s) "
        f"({format_size(outcome.bytes)} of {format_size(outcome.plan_bytes)}): "
        f"{outcome.uploaded} uploaded ({format_size(outcome.uploaded_bytes)}), "
        f"{outcome.mounted} mounted, {outcome.present} already there "
        f"in {outcome.seconds:.1f}s\n"
        "no manifest or tag written: run 'promoter apply PLAN --finish' once every shard is done"
    )
