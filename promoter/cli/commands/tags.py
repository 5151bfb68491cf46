"""``promoter tags``: the tags and labels the git context yields."""

from __future__ import annotations

from typing import Any

from promoter.cli.options import file_option, output_option
from promoter.cli.params import option
from promoter.cli.parsing import command
from promoter.cli.render import emit, log
from promoter.cli.state import current_state
from promoter.untrusted import one_line as _v

__all__ = ["tags"]


def _describe_context(context: dict[str, Any]) -> str:
    where = {"github-actions": "GitHub Actions", "azure-devops": "Azure DevOps"}.get(
        context["source"], "local checkout"
    )
    flags = [name for name in ("dirty", "shallow", "detached") if context[name]]
    ref = _v(context["ref"] or "(no ref)")
    sha = _v((context["sha"] or "")[:7] or "(no commit)")
    extra = f", {', '.join(flags)}" if flags else ""
    return f"git context: {_v(context['event'] or 'no event')} {ref} at {sha} ({where}{extra})"


def _text(document: dict[str, Any]) -> str:
    lines = [_describe_context(document["context"])]
    for image in document["images"]:
        lines.append("")
        lines.append(f"{_v(image['image'])}  (staging {_v(image['staging'])})")
        lines.append(f"  version: {_v(image['version'] or '(none)')}")
        lines.append("  tags:" if image["tags"] else "  tags: (none: no rule matched)")
        lines.extend(f"    {_v(tag)}" for tag in image["tags"])
        lines.append("  labels:")
        lines.extend(f"    {_v(key)}={_v(value)}" for key, value in image["labels"].items())
    return "\n".join(lines)


@command()
@file_option
@option(
    "--image", dest="images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@output_option("text", "json")
def tags(pipeline_file: str, images: tuple[str, ...], output: str) -> None:
    """Print the tags and OCI labels computed from git and the CI environment.

    The context comes from GitHub Actions or Azure DevOps variables when
    present, else from the git checkout holding the pipeline file. Tags are
    full names in each image's staging repository.
    """
    # here, not at the top: config and tagging into --help (+41 modules, 50 ms)
    from promoter.config import load_pipeline
    from promoter.tagging.stage import pipeline_tags

    environ = current_state().settings().environ
    report = pipeline_tags(load_pipeline(pipeline_file), images, env=environ)
    for warning in report.warnings:
        log(f"warning: {_v(warning)}")
    emit(report.to_dict(), _text)
