"""Renderings of a ``CheckReport``: text, JSON, SARIF 2.1.0 and Markdown (library: returns strings)."""

from __future__ import annotations

import json

from promoter.policy.formats.markdown import render_markdown
from promoter.policy.formats.sarif import render_sarif, sarif_document
from promoter.policy.formats.text import render_text
from promoter.policy.results import CheckReport

__all__ = [
    "FORMATS",
    "render",
    "render_json",
    "render_markdown",
    "render_sarif",
    "render_text",
    "sarif_document",
]

FORMATS = ("text", "json", "sarif", "markdown")


def render_json(report: CheckReport) -> str:
    """The report as one JSON document."""
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render(report: CheckReport, output: str) -> str:
    """The report in one of ``FORMATS``."""
    renderers = {
        "text": render_text,
        "json": render_json,
        "sarif": render_sarif,
        "markdown": render_markdown,
    }
    return renderers[output](report)
