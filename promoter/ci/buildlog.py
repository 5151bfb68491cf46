"""kaniko's output as one collapsible group per build on CI, plain lines on a terminal.

``promoter build`` and ``promoter run`` both log builds through this class, so
they look the same everywhere. The build's lines are untrusted text (a
Dockerfile's ``RUN`` prints what it likes): they go through the boundary's
``untrusted_block`` (fenced on GitHub, neutralized on Azure DevOps); the group
markers are promoter's own commands.
"""

from __future__ import annotations

import contextlib

from promoter.ci.boundary import Boundary
from promoter.ci.service import AZURE_DEVOPS, GITHUB
from promoter.untrusted import one_line

__all__ = ["GroupedBuildLog"]

_MARKERS = {GITHUB: ("::group::", "::endgroup::"), AZURE_DEVOPS: ("##[group]", "##[endgroup]")}


class GroupedBuildLog:
    """A ``promoter.build.stage.BuildLog`` writing to stderr (nothing when ``quiet``)."""

    def __init__(self, boundary: Boundary, *, quiet: bool = False) -> None:
        self._boundary = boundary
        self._open, self._close = _MARKERS.get(boundary.service, ("", ""))
        self._quiet = quiet
        self._block: contextlib.ExitStack | None = None

    def begin(self, title: str) -> None:
        """A build starts: a group opens (on a terminal, a ``== title`` line)."""
        if self._quiet:
            return
        # The title names the image and its Dockerfile: one line, no command of its own.
        if self._open:
            self._boundary.command(self._open + one_line(title))
        else:
            self._boundary.block_line("== " + one_line(title))
        self._block = contextlib.ExitStack()
        self._block.enter_context(self._boundary.untrusted_block())

    def line(self, text: str) -> None:
        """One line of kaniko's output."""
        if not self._quiet:
            self._boundary.block_line(text)

    def end(self) -> None:
        """The build ended: the fence and the group close."""
        if self._block is not None:
            self._block.close()
            self._block = None
        if self._close and not self._quiet:
            self._boundary.command(self._close)
