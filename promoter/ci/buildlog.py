"""kaniko's output as one collapsible group per build on CI, plain lines on a terminal.

``promoter build`` and ``promoter run`` both log builds through this class, so
they look the same everywhere.
"""

from __future__ import annotations

import sys
from typing import TextIO

from promoter.ci.service import AZURE_DEVOPS, GITHUB
from promoter.redaction import redact

__all__ = ["GroupedBuildLog"]

_MARKERS = {GITHUB: ("::group::", "::endgroup::"), AZURE_DEVOPS: ("##[group]", "##[endgroup]")}


class GroupedBuildLog:
    """A ``promoter.build.stage.BuildLog`` writing to stderr (nothing when ``quiet``)."""

    def __init__(self, service: str, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self._open, self._close = _MARKERS.get(service, ("== ", ""))
        self._quiet = quiet
        self._stream = stream

    def _write(self, text: str) -> None:
        if self._quiet:
            return
        stream = self._stream or sys.stderr
        stream.write(redact(text) + "\n")
        stream.flush()

    def begin(self, title: str) -> None:
        """A build starts: a group opens (on a terminal, a ``== title`` line)."""
        self._write(self._open + title.replace("\n", " "))

    def line(self, text: str) -> None:
        """One line of kaniko's output."""
        self._write(text)

    def end(self) -> None:
        """The build ended: the group closes."""
        if self._close:
            self._write(self._close)
