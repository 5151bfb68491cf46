"""Progress of a copy for people: live bars on a terminal, periodic lines elsewhere.

Progress always goes to stderr (``--output json`` keeps stdout for the one JSON
document); ``--quiet`` silences it. On a terminal a rich display shows one bar
per blob being streamed and a total; otherwise (CI logs) a plain line per blob
and a total at most every few seconds. rich is imported only for a terminal.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from promoter.cli.state import current_state
from promoter.oci import Descriptor
from promoter.transfer.progress import BlobAction, ProgressListener, SilentProgress
from promoter.units import format_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["LineProgress", "TerminalProgress", "progress_for"]


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class LineProgress(ProgressListener):
    """Plain lines on a stream (CI logs): periodic totals, one line per blob finished."""

    def __init__(
        self,
        stream: TextIO | None = None,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self.clock = clock
        self.lock = threading.Lock()
        self.total_bytes = 0
        self.total_blobs = 0
        self.done_bytes = 0
        self.done_blobs = 0
        self.last = clock()

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def planned(self, source: str, destination: str, blobs: int, total_bytes: int) -> None:
        with self.lock:
            self.total_blobs += blobs
            self.total_bytes += total_bytes
            self._line(
                f"copying {source} -> {destination}: {blobs} blobs, {format_size(total_bytes)}"
            )

    def blob_advanced(self, descriptor: Descriptor, chunk_bytes: int) -> None:
        with self.lock:
            self.done_bytes += chunk_bytes
            now = self.clock()
            if now - self.last >= self.interval:
                self.last = now
                self._line(
                    f"  {format_size(self.done_bytes)} / {format_size(self.total_bytes)} "
                    f"({self.done_blobs}/{self.total_blobs} blobs done)"
                )

    def blob_restarted(self, descriptor: Descriptor, reason: str) -> None:
        with self.lock:
            self._line(f"  blob {_short(descriptor.digest)} failed ({reason}); starting over")

    def blob_finished(self, descriptor: Descriptor, action: BlobAction) -> None:
        with self.lock:
            self.done_blobs += 1
            if action != "copied":
                self.done_bytes += descriptor.size
            self._line(
                f"  blob {_short(descriptor.digest)} {action} ({format_size(descriptor.size)})"
            )

    def manifest_written(self, digest: str, tag: str | None) -> None:
        with self.lock:
            self._line(f"  manifest {_short(digest)} written" + (f" as {tag}" if tag else ""))


class TerminalProgress(ProgressListener):
    """A live rich display on stderr: a bar per streamed blob and one for the total."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            console=Console(stderr=True, no_color=not current_state().color),
            transient=False,
        )
        self.lock = threading.Lock()
        self.total: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> TerminalProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def planned(self, source: str, destination: str, blobs: int, total_bytes: int) -> None:
        with self.lock:
            if self.total is None:
                self.total = self.progress.add_task("total", total=total_bytes)
            else:
                self.progress.update(self.total, total=self._total_size() + total_bytes)

    def _total_size(self) -> int:
        for task in self.progress.tasks:
            if task.id == self.total:
                return int(task.total or 0)
        return 0

    def blob_started(self, descriptor: Descriptor) -> None:
        with self.lock:
            task = self.tasks.get(descriptor.digest)
            if task is None:
                self.tasks[descriptor.digest] = self.progress.add_task(
                    _short(descriptor.digest), total=descriptor.size
                )
            else:
                self.progress.reset(task, total=descriptor.size)

    def blob_advanced(self, descriptor: Descriptor, chunk_bytes: int) -> None:
        task = self.tasks.get(descriptor.digest)
        if task is not None:
            self.progress.advance(task, chunk_bytes)
        if self.total is not None:
            self.progress.advance(self.total, chunk_bytes)

    def blob_finished(self, descriptor: Descriptor, action: BlobAction) -> None:
        with self.lock:
            task = self.tasks.pop(descriptor.digest, None)
            if task is not None:
                self.progress.remove_task(task)
            if action != "copied" and self.total is not None:
                self.progress.advance(self.total, descriptor.size)
            if action != "skipped":
                self.progress.console.print(
                    f"blob {_short(descriptor.digest)} {action}", highlight=False
                )


def progress_for(quiet: bool, stream: TextIO | None = None) -> ProgressListener:
    """The listener for this run: silent, a live display, or plain lines."""
    if quiet:
        return SilentProgress()
    target = stream or sys.stderr
    if target.isatty():
        return TerminalProgress()
    return LineProgress(target)


def live_display(listener: object) -> AbstractContextManager[object]:
    """What to run a command inside: the live display when ``listener`` is one."""
    return listener if isinstance(listener, TerminalProgress) else nullcontext()
