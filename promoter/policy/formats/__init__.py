"""Renderings of a ``CheckReport``: text, SARIF 2.1.0 and Markdown (library: returns strings).

Its JSON form is the report's own ``to_dict()``, which the CLI prints.
"""

from __future__ import annotations

from promoter.policy.formats.markdown import render_markdown
from promoter.policy.formats.sarif import render_sarif, sarif_document
from promoter.policy.formats.text import render_text
from promoter.policy.results import CheckReport

__all__ = [
    "FORMATS",
    "render",
    "render_markdown",
    "render_sarif",
    "render_text",
    "sarif_document",
]

#: The renderings ``render`` knows.
FORMATS = ("text", "sarif", "markdown")


def render(report: CheckReport, output: str) -> str:
    """The report in one of ``FORMATS``."""
    renderers = {
        "text": render_text,
        "sarif": render_sarif,
        "markdown": render_markdown,
    }
    return renderers[output](report)
