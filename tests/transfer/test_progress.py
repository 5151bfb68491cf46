"""Progress: plain lines when stderr is not a terminal, nothing with --quiet, live bars on a TTY."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from collections.abc import Callable

from promoter.cli.progress import LineProgress, TerminalProgress, progress_for
from promoter.oci import Descriptor
from promoter.transfer import SilentProgress
from tests.support.images import make_image, push_http
from tests.support.registry import Registry
from tests.transfer.conftest import CliRun

Repo = Callable[[str], str]
Promoter = Callable[..., CliRun]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_line_progress_prints_totals_at_most_every_interval() -> None:
    out, clock = io.StringIO(), Clock()
    listener = LineProgress(out, interval=5.0, clock=clock)
    blob = Descriptor("application/octet-stream", "sha256:" + "a" * 64, 3 << 20)

    listener.planned("src/a", "dst/b", 1, blob.size)
    for _ in range(3):
        clock.now += 2.0
        listener.blob_advanced(blob, 1 << 20)
    listener.blob_finished(blob, "copied")

    lines = out.getvalue().splitlines()
    assert lines[0] == "copying src/a -> dst/b: 1 blobs, 3.0 MiB"
    assert lines[1] == "  3.0 MiB / 3.0 MiB (0/1 blobs done)"  # only at t=6, not at 2 or 4
    assert lines[2] == "  blob aaaaaaaaaaaa copied (3.0 MiB)"
    assert len(lines) == 3


def test_progress_for_picks_by_quiet_and_terminal() -> None:
    assert isinstance(progress_for(True), SilentProgress)
    assert isinstance(progress_for(False, io.StringIO()), LineProgress)
    main, secondary = pty.openpty()
    try:
        with os.fdopen(secondary, "w", closefd=False) as tty:
            assert isinstance(progress_for(False, tty), TerminalProgress)
    finally:
        os.close(main)
        os.close(secondary)


def test_cli_progress_lines_and_quiet(
    registry: Registry, other_registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    image = make_image(layer_sizes=[200_000], seed=repo("progress"))
    src = repo("staging")
    push_http(image, registry.url, src, "1")

    loud = promoter("copy", f"{registry.host}/{src}:1", f"{other_registry.host}/{repo('p')}:1")
    quiet = promoter("copy", "-q", f"{registry.host}/{src}:1", f"{other_registry.host}/{repo('q')}:1")  # fmt: skip

    assert loud.code == 0 and quiet.code == 0
    assert "copying " in loud.stderr
    assert loud.stderr.count(" copied (") == 2  # config and layer, one line each
    assert "manifest " in loud.stderr
    assert quiet.stderr == ""
    assert "digest: " + image.digest in quiet.stdout


def test_terminal_progress_draws_on_a_tty(
    registry: Registry, other_registry: Registry, repo: Repo
) -> None:
    image = make_image(layer_sizes=[300_000], seed=repo("tty"))
    src = repo("staging")
    push_http(image, registry.url, src, "1")
    main, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "promoter", "copy", f"{registry.host}/{src}:1",
             f"{other_registry.host}/{repo('tty')}:1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=secondary, timeout=120,
        )  # fmt: skip
        os.close(secondary)
        drawn = b""
        while True:
            try:
                piece = os.read(main, 65536)
            except OSError:
                break
            if not piece:
                break
            drawn += piece
    finally:
        os.close(main)
    assert done.returncode == 0
    text = drawn.decode(errors="replace")
    assert "total" in text
    assert "copied" in text
