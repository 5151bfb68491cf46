"""Turning kaniko's output into a useful BuildError.

kaniko logs each instruction as it starts (``INFO[0001] COPY app /app``) and
ends a failed build with ``error building image: ...``. Parse errors name a
line (``dockerfile parse error on line 5``, ``Dockerfile:5``). From these the
error names the Dockerfile line: the explicit one if kaniko gave it, otherwise
the line of the last instruction kaniko started.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from promoter.build.dockerfile import Instruction, parse_instructions
from promoter.errors import BuildError

__all__ = ["KanikoFailed", "LogTail", "build_failure", "deliver", "failing_instruction"]

_KEYWORDS = (
    "FROM|RUN|COPY|ADD|ENV|ARG|LABEL|USER|WORKDIR|ENTRYPOINT|CMD|EXPOSE|VOLUME|"
    "SHELL|STOPSIGNAL|HEALTHCHECK|ONBUILD|MAINTAINER"
)
_STARTED = re.compile(
    rf"^(?:INFO|DEBU|WARN)\[[^\]]*\]\s+(?P<keyword>{_KEYWORDS})\b\s*(?P<rest>.*)$"
)
_EXPLICIT_LINE = re.compile(r"(?:[Dd]ockerfile:(\d+)|\bline (\d+)\b)")
_MISSING_SOURCE = re.compile(r"failed to get fileinfo for (\S+?):|lstat (\S+?): no such file")
_ERROR_LINE = re.compile(r"^(?:error building image:|Error:|ERRO\[)")


class KanikoFailed(BuildError):
    """kaniko ran and failed: its exit code, last lines and the Dockerfile line it named."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None,
        last_lines: list[str],
        dockerfile_line: int | None,
        dockerfile: str | None = None,
        hint: str | None = None,
    ) -> None:
        detail = "kaniko's last lines:\n" + "\n".join(f"  {line}" for line in last_lines)
        super().__init__(message, detail=detail if last_lines else None, hint=hint)
        self.exit_code = exit_code
        self.last_lines = last_lines
        self.dockerfile_line = dockerfile_line
        self.dockerfile = dockerfile

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out.update(
            {
                "exitCode": self.exit_code,
                "dockerfile": self.dockerfile,
                "dockerfileLine": self.dockerfile_line,
            }
        )
        return out


class LogTail:
    """Splits streamed output into lines and keeps the last ``size`` of them."""

    def __init__(self, size: int = 40) -> None:
        self.lines: deque[str] = deque(maxlen=size)
        self.started: list[str] = []  # every instruction kaniko started, in order
        self._partial = ""

    def feed(self, chunk: str) -> list[str]:
        """Add output; return the complete lines it finished."""
        text = self._partial + chunk.replace("\r\n", "\n").replace("\r", "\n")
        *complete, self._partial = text.split("\n")
        for line in complete:
            self._remember(line)
        return complete

    def close(self) -> list[str]:
        """Flush a last line that had no newline."""
        rest, self._partial = self._partial, ""
        if rest:
            self._remember(rest)
            return [rest]
        return []

    def _remember(self, line: str) -> None:
        self.lines.append(line)
        if _STARTED.match(line.strip()):
            self.started.append(line.strip())


def deliver(on_log: Callable[[str], None], lines: Iterable[str]) -> None:
    """Hand lines to a log callback; a broken log sink must not break the build."""
    for line in lines:
        with contextlib.suppress(Exception):
            on_log(line)


def failing_instruction(
    started: Iterable[str], dockerfile_text: str, reason: str = ""
) -> Instruction | None:
    """The Dockerfile instruction that failed.

    The instructions kaniko logged are matched in order through the file; the
    last one is the failing one, except when kaniko could not find a COPY/ADD
    source in the context: it checks those before logging the instruction, so
    the failing one is the next COPY/ADD naming the missing path.
    """
    instructions = parse_instructions(dockerfile_text)
    position = 0
    found: Instruction | None = None
    for line in started:
        match = _STARTED.match(line)
        if match is None:
            continue
        wanted = " ".join(f"{match['keyword']} {match['rest']}".split())
        candidates = instructions[position:]
        # The exact text first; else the next instruction with that keyword.
        hit = next((i for i in candidates if i.text == wanted), None) or next(
            (i for i in candidates if i.keyword == match["keyword"]), None
        )
        if hit is not None:
            found = hit
            position = instructions.index(hit) + 1
    missing = _MISSING_SOURCE.search(reason)
    if missing:
        path = missing.group(1) or missing.group(2)
        copying = [i for i in instructions[position:] if i.keyword in ("COPY", "ADD")]
        return next((i for i in copying if _names_source(i, path)), None) or (
            copying[0] if copying else found
        )
    return found


def _names_source(instruction: Instruction, path: str) -> bool:
    """Whether a COPY/ADD instruction has a source that ``path`` (in the context) ends with."""
    words = [w.strip('",[]') for w in instruction.arguments.split() if not w.startswith("--")]
    for source in words[:-1]:
        source = source.strip("/").removeprefix("./")
        if source and path.rstrip("/").endswith("/" + source):
            return True
    return False


def _explicit_line(lines: Iterable[str]) -> int | None:
    """A line number an error line names (``Dockerfile:5``, ``on line 5``)."""
    for line in reversed(list(lines)):
        if not _ERROR_LINE.match(line.strip()):
            continue
        match = _EXPLICIT_LINE.search(line)
        if match:
            return int(match.group(1) or match.group(2))
    return None


def build_failure(
    *,
    image: str,
    exit_code: int | None,
    tail: LogTail,
    dockerfile: Path,
    dockerfile_label: str,
) -> KanikoFailed:
    """The error for a kaniko run that exited with ``exit_code`` (None: it was stopped)."""
    lines = [line for line in tail.lines if line.strip()]
    reason = next(
        (line.strip() for line in reversed(lines) if _ERROR_LINE.match(line.strip())), None
    )
    if reason is None and lines:
        reason = lines[-1].strip()
    try:
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    where = ""
    line_number = _explicit_line(lines)
    instruction = None
    if line_number is None and text:
        instruction = failing_instruction(tail.started, text, reason or "")
        line_number = instruction.line if instruction else None
    if line_number is not None:
        where = f" at {dockerfile_label}:{line_number}"
        if instruction is not None:
            where += f" ({instruction.text})"
    message = f"build of {image} failed{where}: {reason or f'kaniko exited with {exit_code}'}"
    return KanikoFailed(
        message,
        exit_code=exit_code,
        last_lines=lines[-15:],
        dockerfile_line=line_number,
        dockerfile=str(dockerfile),
        hint="fix the Dockerfile or the build context and run the build again",
    )
