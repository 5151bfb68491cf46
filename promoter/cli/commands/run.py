"""``promoter run``: the whole pipeline, stage by stage."""

from __future__ import annotations

from promoter.ci.buildlog import GroupedBuildLog
from promoter.cli.options import file_option, insecure_registry_option, output_option, quiet_option
from promoter.cli.params import UsageError, option
from promoter.cli.parsing import command
from promoter.cli.render import emit_run_report
from promoter.cli.state import current_state
from promoter.errors import InputError
from promoter.pipeline.settings import STAGES
from promoter.structs import replace

__all__ = ["run"]


@command()
@file_option
@option("--dry-run", flag=True, help="Plan only: the same as 'promoter plan'.")
@option(
    "--image", dest="images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@option(
    "--stage",
    dest="stages",
    default=",".join(STAGES),
    show_default=True,
    metavar="LIST",
    help="Comma-separated stages to run.",
)
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def run(
    pipeline_file: str,
    dry_run: bool,
    images: tuple[str, ...],
    stages: str,
    output: str,
    quiet: bool,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> int:
    """Run the pipeline: build, push to staging, check, promote.

    Exit 0 when done, 1 when a promotion was refused (policy or an immutable
    tag at another digest), 3 when it failed.
    """
    # here, not at the top: pipeline.run into --help (+233 modules, 220 ms)
    from promoter.cli.interrupts import graceful_interrupts
    from promoter.cli.progress import live_display, progress_for
    from promoter.pipeline import RunRequest, parse_stages, run_pipeline

    try:
        chosen = parse_stages(stages)
    except InputError as error:
        raise UsageError(str(error)) from None
    state = current_state()
    request = RunRequest(
        pipeline_file,
        images,
        chosen,
        dry_run=dry_run,
        insecure_registries=insecure_registries,
        ca_file=ca_file,
        settings=state.settings(),
        build_log=GroupedBuildLog(state.boundary, quiet=state.quiet),
        # Blobs as they move to production (a dry run moves none).
        listener=None if dry_run else progress_for(quiet),
    )
    with graceful_interrupts() as stop, live_display(request.listener):
        report = run_pipeline(replace(request, stop=stop))
    return emit_run_report(report)
