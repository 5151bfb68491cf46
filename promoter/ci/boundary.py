"""The one place every byte promoter prints passes: promoter's commands, and everything else.

On a CI service (and wherever output is not a terminal: a pipe is where a
runner or an agent reads) ``Boundary.install`` puts a guard in front of
``sys.stdout`` and ``sys.stderr``. Every line written there is text promoter
does not vouch for (it may quote a registry, a label, a git ref, a file name),
so the guard passes each one through ``promoter.untrusted.neutralize``: no
``::`` begins it, no ``##[``/``##vso[`` is left in it, no CR splits it. A JSON
document stays valid and decodes to the same values.

promoter's own service commands (masks, outputs, annotations, log groups, the
step's result) are the only lines that skip the guard: they go through
``Boundary.command``, straight to the real stderr, at the start of a line.

Build output is a multi-line block of untrusted text (a pull request's
``RUN`` step prints what it likes). On GitHub it is fenced with
``::stop-commands::<random token>`` ... ``::<token>::``, so the runner runs
nothing inside it, and its lines are shown as they were; a command promoter
must write meanwhile (a new secret's mask) closes the fence first and opens a
new one after. Azure DevOps has no such fence: there every block line is
neutralized like any other line.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from promoter.ci.service import GITHUB, NONE
from promoter.redaction import redact
from promoter.untrusted import has_command, neutralize

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["Boundary", "GuardedStream"]


class GuardedStream:
    """A text stream that writes only whole, neutralized lines to the stream it guards.

    A line is held until its end comes (or the stream is finished), so a command
    cannot be put together from two writes. Any thread may write.
    """

    def __init__(self, raw: TextIO, lock: threading.RLock) -> None:
        self.raw = raw
        self._lock = lock
        self._pending = ""

    # -- what argparse, logging and print look for on a text stream -------------------
    @property
    def encoding(self) -> str:
        return getattr(self.raw, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:
        return getattr(self.raw, "errors", None)

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.raw.fileno()

    # -- writing ---------------------------------------------------------------------------
    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                whole, _, self._pending = self._pending.rpartition("\n")
                self._emit(whole)
        return len(text)

    def _emit(self, text: str) -> None:
        # CRLF is one line end; a lone CR is shown, never obeyed.
        lines = text.replace("\r\n", "\n").split("\n")
        self.raw.write("".join(neutralize(line) + "\n" for line in lines))

    def writelines(self, lines: Iterator[str] | list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with self._lock:
            self.raw.flush()

    def finish(self) -> None:
        """Write out a last line that never got its end."""
        with self._lock:
            if self._pending:
                pending, self._pending = self._pending, ""
                self.raw.write(neutralize(pending.replace("\r", "\\r")))
            self.raw.flush()


class Boundary:
    """stdout and stderr of one command, and the one door for promoter's own commands."""

    def __init__(
        self, service: str = NONE, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.service = service
        self._lock = threading.RLock()
        self._stdout = stdout
        self._stderr = stderr
        self._guards: tuple[GuardedStream | None, GuardedStream | None] = (None, None)
        self._saved: tuple[TextIO, TextIO] | None = None
        #: The stop token of the open fence (GitHub), or "" when none is open.
        self._fence = ""

    @property
    def stdout(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    def _raw_stderr(self) -> TextIO:
        return self._guards[1].raw if self._guards[1] else self.stderr

    # -- the guard -------------------------------------------------------------------------
    def _needed(self, stream: TextIO) -> bool:
        """On a CI service, or when ``stream`` is not a terminal (a runner reads pipes)."""
        return self.service != NONE or not _isatty(stream)

    def install(self) -> None:
        """Put the guard in front of ``sys.stdout`` and ``sys.stderr`` where ``_needed``."""
        if self._saved is not None:
            return
        self._saved = (sys.stdout, sys.stderr)
        out = GuardedStream(sys.stdout, self._lock) if self._needed(sys.stdout) else None
        err = GuardedStream(sys.stderr, self._lock) if self._needed(sys.stderr) else None
        self._guards = (out, err)
        if out is not None:
            sys.stdout = out
        if err is not None:
            sys.stderr = err

    def uninstall(self) -> None:
        """Write out what is held, close an open fence, and give the streams back."""
        with self._lock:
            self._close_fence()
            if self._saved is None:
                return
            for guard in self._guards:
                if guard is not None:
                    guard.finish()
            sys.stdout, sys.stderr = self._saved
            self._guards = (None, None)
            self._saved = None

    # -- promoter's own commands -----------------------------------------------------------
    def command(self, line: str, *, secret: bool = False) -> None:
        """One service command of promoter's, on stderr at the start of a line; redacted
        unless it is a mask (``secret``). An open fence is closed around it."""
        with self._lock:
            fence = self._fence
            self._close_fence()
            out = self._raw_stderr()
            out.write((line if secret else redact(line)) + "\n")
            if fence:
                self._open_fence()
            out.flush()

    def _open_fence(self) -> None:
        # os.urandom as secrets.token_hex reads it; the secrets module (hmac, random,
        # base64) cost ~5 % of every start for this one line.
        self._fence = f"promoter-{os.urandom(16).hex()}"
        self._raw_stderr().write(f"::stop-commands::{self._fence}\n")

    def _close_fence(self) -> None:
        if self._fence:
            self._raw_stderr().write(f"::{self._fence}::\n")
            self._fence = ""

    # -- blocks of untrusted lines (build output) ---------------------------------------------
    @contextmanager
    def untrusted_block(self) -> Iterator[None]:
        """Lines written with ``block_line`` meanwhile are fenced (GitHub) or neutralized."""
        with self._lock:
            if self.service == GITHUB:
                self._open_fence()
        try:
            yield
        finally:
            with self._lock:
                self._close_fence()
                self._raw_stderr().flush()

    def block_line(self, text: str) -> None:
        """One untrusted line (redacted); inside a fence as it is, else neutralized."""
        with self._lock:
            parts = redact(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
            if not self._fence:
                parts = [neutralize(part) for part in parts]
            out = self._raw_stderr()
            out.write("".join(part + "\n" for part in parts))
            out.flush()

    # -- bytes -----------------------------------------------------------------------------
    def write_bytes(self, data: bytes) -> bool:
        """Bytes to stdout exactly, unless a runner may read them as commands: on a guarded
        stdout that is not a regular file, bytes holding a command are neutralized line by
        line (as JSON escapes). True when the bytes were written as they are."""
        with self._lock:
            guard = self._guards[0]
            out = guard.raw if guard else self.stdout
            out.flush()
            if guard is not None and not _regular_file(out) and _holds_command(data):
                text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
                out.write("\n".join(neutralize(line) for line in text.split("\n")))
                out.flush()
                return False
            out.buffer.write(data)
            out.buffer.flush()
            return True


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _regular_file(stream: TextIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


def _holds_command(data: bytes) -> bool:
    if b"\r" in data:
        return True
    text = data.decode("utf-8", "replace")
    return any(has_command(line) for line in text.split("\n"))
