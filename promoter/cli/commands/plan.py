"""``promoter plan``: the dry run (same as ``promoter run --dry-run``)."""

from __future__ import annotations

from promoter.cli.options import file_option, insecure_registry_option, output_option
from promoter.cli.params import option
from promoter.cli.parsing import command
from promoter.cli.render import emit_run_report, log
from promoter.cli.state import current_state

__all__ = ["plan"]


@command()
@file_option
@output_option("text", "json")
@option("--out", dest="out_file", metavar="FILE", help="Write the plan as JSON to FILE.")
@option(
    "--image", dest="images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@insecure_registry_option
def plan(
    pipeline_file: str,
    output: str,
    out_file: str | None,
    images: tuple[str, ...],
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> int:
    """Compute and print everything 'promoter run' would do, writing nothing.

    Needs only read access to the registries. Each destination tag gets one
    action: copy, tag, noop, conflict, blocked or skipped.
    """
    # here, not at the top: pipeline.run into --help (+233 modules, 220 ms)
    from promoter.pipeline import RunRequest, run_pipeline

    state = current_state()
    settings = state.settings()
    request = RunRequest(
        pipeline_file,
        images,
        dry_run=True,
        insecure_registries=insecure_registries,
        ca_file=ca_file,
        settings=settings,
    )
    report = run_pipeline(request)
    if out_file is None and state.ci != "none" and report.plan is not None:
        # here, not at the top: CI only: ci.adapter into --help and every plan (+23 modules, 11 ms)
        from promoter.ci.adapter import runner_temp_file

        path = runner_temp_file(settings.environ, "plan", ".json")
        if path is not None:
            out_file = str(path)
    if out_file and report.plan is not None:
        report.plan.write(out_file)
        state.plan_file = out_file
        log(f"plan written to {out_file}")
    return emit_run_report(report)
