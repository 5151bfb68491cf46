"""Azure DevOps: ``##vso[...]`` logging commands, as the agent reads them.

Values are escaped as the agent expects: ``%`` -> ``%AZP25``, CR -> ``%0D``,
LF -> ``%0A``; in properties also ``;`` -> ``%3B`` and ``]`` -> ``%5D``.
"""

from __future__ import annotations

from collections.abc import Sequence

from promoter.ci.adapter import CiAdapter
from promoter.ci.annotations import Annotation
from promoter.ci.outputs import StepOutputs
from promoter.ci.service import AZURE_DEVOPS
from promoter.untrusted import neutralize_lines

__all__ = ["AzureDevOpsAdapter", "escape_data", "escape_property", "task_result"]

_POLICY_RANK = 3


def escape_data(text: str) -> str:
    """A logging command's message or value."""
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A logging command's property value."""
    return escape_data(text).replace(";", "%3B").replace("]", "%5D")


def task_result(exit_code: int, annotations: Sequence[Annotation]) -> str:
    """``Succeeded``; ``SucceededWithIssues`` when only ``warn``-mode policies failed; ``Failed``."""
    if exit_code != 0:
        return "Failed"
    warned = any(a.level == "warning" and a.rank == _POLICY_RANK for a in annotations)
    return "SucceededWithIssues" if warned else "Succeeded"


class AzureDevOpsAdapter(CiAdapter):
    """The Azure DevOps side of a command."""

    service = AZURE_DEVOPS

    def _vso(
        self,
        area: str,
        properties: dict[str, str | int | None],
        message: str = "",
        *,
        secret: bool = False,
    ) -> None:
        props = ";".join(
            f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None
        )
        line = f"##vso[{area}{' ' + props if props else ''}]{escape_data(message)}"
        self.command(line, secret=secret)

    def mask(self, secret: str) -> None:
        # The whole value, and each of its lines: the agent masks within a line, and a
        # multi-line secret (a PEM key) is printed, if ever, line by line.
        for part in dict.fromkeys([secret, *secret.splitlines()]):
            if part.strip():
                self._vso("task.setsecret", {}, part, secret=True)

    def write_outputs(self, outputs: StepOutputs) -> None:
        for name, value in outputs.as_azure().items():
            self._vso("task.setvariable", {"variable": name, "isOutput": "true"}, value)

    def write_annotations(self, annotations: Sequence[Annotation]) -> None:
        for a in annotations:
            self._vso(
                "task.logissue",
                {
                    "type": a.level,
                    "sourcepath": a.file,
                    "linenumber": a.line if a.file else None,
                    "columnnumber": a.column if a.file and a.line else None,
                },
                neutralize_lines(f"{a.title}: {a.message}"),
            )

    def write_summary(self, markdown: str, command: str) -> None:
        path = self.temp_file(f"{command}-summary", ".md")
        if path is None:
            return  # not on an agent: no temp folder the agent would clean up
        path.write_text(markdown, encoding="utf-8")
        self._vso("task.uploadsummary", {}, str(path))

    def complete(self, exit_code: int, annotations: Sequence[Annotation]) -> None:
        result = task_result(exit_code, annotations)
        messages = {0: "done", 1: "refused by policy or by a tag conflict", 2: "bad input"}
        message = messages.get(exit_code, "interrupted" if exit_code == 130 else "failed")
        self._vso("task.complete", {"result": result}, f"promoter: {message} (exit {exit_code})")
