"""The service's side of a command: made from the document ``--output json`` prints.

``CiAdapter.start`` runs before anything is printed and masks each secret the
moment promoter reads it; ``CiAdapter.finish`` runs once the command's exit
code is known and writes the report file, the step outputs, the annotations,
the summary and (Azure DevOps) the step's result. Service commands go to
stderr, so stdout stays the one JSON document of ``--output json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from promoter.ci.annotations import Annotation, annotations_of, limit_annotations, relative_path
from promoter.ci.boundary import Boundary
from promoter.ci.outputs import StepOutputs, step_outputs
from promoter.ci.summary import render_summary
from promoter.redaction import on_secret, redact
from promoter.structs import replace

__all__ = [
    "CiAdapter",
    "Finished",
    "document_kind",
    "runner_temp_file",
]

_KINDS = {
    "run": "run",
    "plan": "run",
    "apply": "run",
    "rollback": "run",
    "check": "check",
    "build": "build",
}


def document_kind(command: str) -> str:
    """What shape a command's document has: ``run`` (run, plan, apply, rollback), ``check``, ..."""
    return _KINDS.get(command, command)


class Finished:
    """What a command left for the service: its name, document, exit code and plan file."""

    def __init__(
        self,
        command: str,
        document: Mapping[str, object] | None,
        exit_code: int,
        plan_file: str = "",
    ) -> None:
        self.command = command or "promoter"
        self.document: Mapping[str, object] = document or {}
        self.exit_code = exit_code
        self.plan_file = plan_file
        # ``apply`` of a prune plan prints a prune document, not a run's.
        prune = self.document.get("kind") == "prune"
        self.kind = "prune" if prune else document_kind(self.command)


class CiAdapter:
    """Common to both services; subclasses write the service's own commands."""

    service = ""

    def __init__(
        self,
        env: Mapping[str, str],
        stream: TextIO | None = None,
        *,
        boundary: Boundary | None = None,
    ) -> None:
        self.env = env
        self.boundary = boundary or Boundary(self.service, stderr=stream)
        self._stop: Callable[[], None] | None = None

    # -- writing service commands ------------------------------------------------
    def command(self, line: str, *, secret: bool = False) -> None:
        """One service command line of promoter's, through the boundary's one door for
        them (on stderr); redacted unless it is a mask (``secret``)."""
        self.boundary.command(line, secret=secret)

    def temp_file(self, stem: str, suffix: str) -> Path | None:
        """A new file of ours in the runner's temp folder (see ``runner_temp_file``)."""
        return runner_temp_file(self.env, stem, suffix)

    # -- the two moments -----------------------------------------------------------
    def start(self) -> None:
        """Mask each secret promoter holds or will read, before any use of it is printed."""
        self._stop = on_secret(self.mask)

    def finish(self, done: Finished) -> None:
        """Write the report file, outputs, annotations, summary and the step's result."""
        document = done.document
        report = ""
        path = self.temp_file(f"{done.command}-report", ".json") if document else None
        if path is not None:
            path.write_text(redact(json.dumps(document, indent=2, default=str)) + "\n", "utf-8")
            report = str(path)
        outputs = step_outputs(
            document, done.kind, done.exit_code, report=report, plan=done.plan_file
        )
        found = [self._located(a) for a in annotations_of(document, done.kind)]
        self.write_outputs(outputs)
        self.write_annotations(limit_annotations(found))
        summary = render_summary(
            done.command,
            document,
            done.kind,
            outputs,
            found,
            place=lambda path: relative_path(path, self.env) or path,
        )
        self.write_summary(redact(summary), done.command)
        self.complete(done.exit_code, found)
        self.stop()

    def stop(self) -> None:
        """Stop hearing of new secrets."""
        if self._stop is not None:
            self._stop()
            self._stop = None

    def _located(self, annotation: Annotation) -> Annotation:
        return replace(annotation, file=relative_path(annotation.file, self.env))

    # -- per service -----------------------------------------------------------------
    def mask(self, secret: str) -> None:
        """Tell the service to hide ``secret`` in its logs."""
        raise NotImplementedError

    def write_outputs(self, outputs: StepOutputs) -> None:
        """The step outputs."""
        raise NotImplementedError

    def write_annotations(self, annotations: Sequence[Annotation]) -> None:
        """The annotations (already limited and ordered)."""
        raise NotImplementedError

    def write_summary(self, markdown: str, command: str) -> None:
        """The job summary."""
        raise NotImplementedError

    def complete(self, exit_code: int, annotations: Sequence[Annotation]) -> None:
        """The step's result, where the service takes one from us."""


def runner_temp_file(env: Mapping[str, str], stem: str, suffix: str) -> Path | None:
    """A new, empty file of ours in the runner's temp folder (``RUNNER_TEMP``,
    ``AGENT_TEMPDIRECTORY``), which the service empties after the job; None outside a
    runner, so nothing is left behind in /tmp."""
    for name in ("RUNNER_TEMP", "AGENT_TEMPDIRECTORY"):
        if env.get(name) and Path(env[name]).is_dir():
            fd, path = tempfile.mkstemp(prefix=f"promoter-{stem}-", suffix=suffix, dir=env[name])
            os.close(fd)
            return Path(path)
    return None
