"""GitHub Actions: ``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY`` and workflow commands.

Escaping follows the runner: in a command's message ``%``, CR and LF become
``%25``, ``%0D``, ``%0A``; in its properties ``:`` and ``,`` become ``%3A`` and
``%2C`` too. Multi-line outputs use ``name<<DELIMITER`` with a random
delimiter that does not occur in the value.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from promoter.ci.adapter import CiAdapter
from promoter.ci.annotations import Annotation
from promoter.ci.outputs import StepOutputs
from promoter.ci.service import GITHUB
from promoter.redaction import redact
from promoter.untrusted import neutralize_lines

__all__ = ["GitHubAdapter", "escape_data", "escape_property", "output_block"]


def escape_data(text: str) -> str:
    """A workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def output_block(name: str, value: str) -> str:
    """``name<<DELIM`` / value / ``DELIM``, the form that takes any value."""
    delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _append(path: str | None, text: str) -> None:
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as file:
        file.write(text)


class GitHubAdapter(CiAdapter):
    """The GitHub Actions side of a command."""

    service = GITHUB

    def mask(self, secret: str) -> None:
        # One mask per line: the runner matches masks within a line.
        for line in {secret, *secret.splitlines()}:
            if line.strip() and "\n" not in line and "\r" not in line:
                self.command(f"::add-mask::{escape_data(line)}", secret=True)

    def write_outputs(self, outputs: StepOutputs) -> None:
        blocks = "".join(output_block(k, redact(v)) for k, v in outputs.as_github().items())
        _append(self.env.get("GITHUB_OUTPUT"), blocks)

    def write_annotations(self, annotations: Sequence[Annotation]) -> None:
        for a in annotations:
            props = []
            if a.file:
                props.append(f"file={escape_property(a.file)}")
                if a.line:
                    props.append(f"line={a.line}")
                    if a.column:
                        props.append(f"col={a.column}")
            props.append(f"title={escape_property(neutralize_lines(a.title))}")
            message = escape_data(neutralize_lines(a.message))
            self.command(f"::{a.level} {','.join(props)}::{message}")

    def write_summary(self, markdown: str, command: str) -> None:
        _append(self.env.get("GITHUB_STEP_SUMMARY"), markdown)
