"""``promoter build``: build images with kaniko and push them to staging."""

from __future__ import annotations

from typing import TYPE_CHECKING

from promoter.ci.buildlog import GroupedBuildLog
from promoter.cli.options import file_option, insecure_registry_option, output_option, quiet_option
from promoter.cli.params import option
from promoter.cli.parsing import command
from promoter.cli.render import emit, log
from promoter.cli.state import current_state
from promoter.pipeline.settings import BuildRequest
from promoter.untrusted import one_line as _v

if TYPE_CHECKING:
    from promoter.build.report import BuildReport

__all__ = ["build"]


def _text(report: BuildReport) -> str:
    lines: list[str] = []
    for image in report.images:
        for one in image.builds:
            result = one.result
            where = (
                one.pushed.reference
                if one.pushed
                else f"{result.digest} (not pushed; tarball {result.tarball})"
            )
            platform = f" [{result.platform}]" if result.platform else ""
            lines.append(f"{_v(image.image)}{_v(platform)}: {_v(where)}")
            lines.extend(f"  tagged {_v(tag)}" for tag in (one.pushed.tags if one.pushed else ()))
    return "\n".join(lines)


@command()
@file_option
@option(
    "--image", dest="images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@option("--no-push", flag=True, help="Build only; keep the tarball, push nothing.")
@output_option("text", "json")
@quiet_option
@insecure_registry_option
def build(
    pipeline_file: str,
    images: tuple[str, ...],
    no_push: bool,
    output: str,
    quiet: bool,
    insecure_registries: tuple[str, ...],
    ca_file: str | None,
) -> None:
    """Build the pipeline's images with kaniko (no BuildKit) and push them to staging.

    kaniko runs in a container through the Docker engine (or directly when
    promoter runs inside a kaniko image) and writes a tarball; promoter pushes
    it to the staging repository by digest, then writes the staging tags.
    """
    # here, not at the top: pipeline.builds into --help (+228 modules, 220 ms)
    from promoter.pipeline.builds import build_pipeline

    state = current_state()
    request = BuildRequest(
        pipeline_file,
        images,
        push=not no_push,  # --no-push keeps the tarballs; pushed ones are removed
        insecure_registries=insecure_registries,
        ca_file=ca_file,
        settings=state.settings(),
        log=GroupedBuildLog(state.boundary, quiet=state.quiet),
        warn=lambda warning: log(f"warning: {warning}"),
    )
    report = build_pipeline(request)
    emit(report.to_dict(), lambda _doc: _text(report))
