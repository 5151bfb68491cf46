"""``promoter validate``: schema and semantic checks of a pipeline file."""

from __future__ import annotations

from promoter.cli.options import file_option, output_option
from promoter.cli.parsing import command
from promoter.cli.render import emit, log
from promoter.untrusted import one_line

__all__ = ["validate"]


@command()
@file_option
@output_option("text", "json")
def validate(pipeline_file: str, output: str) -> None:
    """Check a pipeline file against the schema and its own references.

    Exits 0 when the file is valid, 2 with FILE:LINE:COL: key.path: message
    when it is not. Warnings (a literal secret build argument) go to stderr as
    FILE:LINE:COL: key.path: warning: message, and the exit code stays 0.
    """
    # here, not at the top: promoter.config's model into --help (+8 modules, 17 ms)
    from promoter.config import load_pipeline

    pipeline = load_pipeline(pipeline_file)
    summary = pipeline.summary()
    for warning in pipeline.warnings:  # exit 0 all the same
        log(str(warning))
    warnings = [warning.to_dict() for warning in pipeline.warnings]
    emit(
        {"ok": True, "file": pipeline_file, **summary, "warnings": warnings},
        lambda s: (
            f"{one_line(pipeline_file)}: valid ({s['images']} image(s), "
            f"{s['registries']} registr{'y' if s['registries'] == 1 else 'ies'}, "
            f"{s['policies']} polic{'y' if s['policies'] == 1 else 'ies'})"
        ),
    )
