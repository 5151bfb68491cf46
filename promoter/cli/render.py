"""Rendering results and errors: one JSON document on stdout, or text; logs on stderr.

Everything printed passes through ``promoter.redaction.redact``, so no secret
promoter holds reaches the output, even where a registry's own words repeat it.
The last document is kept in the invocation's ``CliState`` for the CI adapter, which writes the
service's outputs, summary and annotations from it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from promoter.cli.state import current_state
from promoter.errors import PromoterError
from promoter.redaction import redact
from promoter.untrusted import one_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from promoter.pipeline.report import RunReport

__all__ = ["emit", "emit_error", "emit_run_report", "error_document", "log", "write_json"]

#: How much encoded JSON ``write_json`` gathers before it redacts and writes it.
_CHUNK = 64 * 1024


def write_json(document: Any, stream: Any) -> None:
    """``document`` as indented JSON on ``stream``, redacted, written as it is encoded:
    a plan of thousands of images never exists as one string (twice, redacted).

    Redaction goes by whole lines: JSON escapes every newline inside a string, so
    no secret's form spans two lines of the output.
    """
    pending: list[str] = []
    size = 0
    for piece in json.JSONEncoder(indent=2, default=str).iterencode(document):
        pending.append(piece)
        size += len(piece)
        if size >= _CHUNK and "\n" in piece:
            text = "".join(pending)
            cut = text.rindex("\n") + 1
            stream.write(redact(text[:cut]))
            pending, size = [text[cut:]], len(text) - cut
    stream.write(redact("".join(pending)) + "\n")


def emit(result: Any, text: Callable[[Any], str] | str | None = None) -> None:
    """Print a command's result: JSON when ``--output json``, else its text form."""
    state = current_state()
    if isinstance(result, dict):
        state.document = result
    if state.output == "json":
        write_json(result, sys.stdout)
        return
    if text is None:
        return
    rendered = text(result) if callable(text) else text
    if rendered:
        rendered = redact(rendered)
        sys.stdout.write(rendered if rendered.endswith("\n") else rendered + "\n")


def log(message: str) -> None:
    """A progress or information line for people: always stderr, silenced by ``--quiet``."""
    if not current_state().quiet:
        sys.stderr.write(redact(message) + "\n")  # the boundary neutralizes each line


def error_document(error: PromoterError, exit_code: int) -> dict[str, object]:
    """The JSON document of a failed command."""
    return {"ok": False, "exitCode": exit_code, "error": error.to_dict()}


def emit_error(error: PromoterError, exit_code: int) -> None:
    """Print an error: one clear line on stderr, then detail; JSON on stdout when asked.

    The message quotes the world (a registry's own words, a file name): it stays one
    line, with no CI command in it; so does each line of the detail and the hint.
    """
    lines = [f"error: {one_line(error.message)}"]
    if error.detail:
        lines += [one_line(line) for line in error.detail.rstrip("\n").splitlines()]
    if error.hint and error.hint not in error.message:
        lines.append(f"hint: {one_line(error.hint)}")
    sys.stderr.write(redact("\n".join(lines)) + "\n")
    doc = error_document(error, exit_code)
    state = current_state()
    state.document = doc
    if state.output == "sarif":
        # here, not at the top: --output sarif only: policy into every start (+87 modules, 70 ms)
        from promoter.policy.formats.sarif import render_sarif_error

        sys.stdout.write(redact(render_sarif_error(error, exit_code)))
    elif state.output == "json":
        sys.stdout.write(redact(json.dumps(doc, indent=2, default=str)) + "\n")


def emit_run_report(report: RunReport) -> int:
    """Print a run, plan or apply report, then why it did not end well; its exit code.

    An interrupted promotion says what was and was not done, and exits 130.
    """
    # here, not at the top: pipeline+registry into every start (+121 modules, 100 ms)
    from promoter.cli.interrupts import EXIT_INTERRUPTED, interrupted_summary
    from promoter.pipeline.render import render_text

    document = report.to_dict()
    interrupted = interrupted_summary(document, current_state().stop)
    emit(document, lambda _doc: render_text(report))
    if interrupted:
        sys.stderr.write("\n".join(interrupted) + "\n")
        return EXIT_INTERRUPTED
    problem = report.problem()
    if problem:
        sys.stderr.write(redact(f"error: {one_line(problem)}") + "\n")
    return report.exit_code
