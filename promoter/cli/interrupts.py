"""SIGINT and SIGTERM alike: before the tag phase nothing is tagged, in it the tags are finished.

While a promotion runs (``promoter apply``, ``promoter run``), the first
interrupt asks every image to stop at its next safe point (the command's
``promoter.promote.stopping.StopRequest``, made here for each command and passed to
the promotion as a value; ``CliState.stop`` keeps it for the summary): an image still copying writes no tag and no
record, an image in its tag phase (the commit point, a few requests)
finishes it. The command then exits 130 and says what was done and what was
not. A second interrupt stops at once. Outside a promotion an interrupt is
``KeyboardInterrupt``: exit 130 straight away.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

from promoter.cli.state import current_state
from promoter.promote.stopping import StopRequest
from promoter.untrusted import neutralize_lines

__all__ = ["EXIT_INTERRUPTED", "graceful_interrupts", "interrupted_summary"]

EXIT_INTERRUPTED = 130
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _say(text: str) -> None:
    # os.write, not sys.stderr: a signal handler may run while stderr is mid-write. It goes
    # around the boundary's guard, so it keeps the guard's rule itself (image names quoted).
    safe = neutralize_lines(text)
    with suppress(OSError):
        os.write(2, safe.encode("utf-8", "replace"))


@contextmanager
def graceful_interrupts() -> Iterator[StopRequest]:
    """A new interrupt request for the command, set by SIGINT and SIGTERM as above for
    the duration of the block (by the handlers on the main thread only)."""
    stop = StopRequest()
    current_state().stop = stop
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    received = 0

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal received
        received += 1
        name = signal.Signals(signum).name
        if received > 1:
            busy = sorted(stop.tagging)
            where = f"; tags of {', '.join(busy)} may be partly written" if busy else ""
            _say(f"error: {name} again: stopped at once{where}\n")
            os._exit(EXIT_INTERRUPTED)
        if not stop.applying:
            raise KeyboardInterrupt
        stop.request()
        busy = sorted(stop.tagging)
        if busy:
            _say(
                f"interrupted ({name}): finishing the tag phase of {', '.join(busy)}, "
                "then stopping; interrupt again to stop at once\n"
            )
        else:
            _say(
                f"interrupted ({name}): stopping before the tag phase, no tag will be written; "
                "interrupt again to stop at once\n"
            )

    previous = {number: signal.signal(number, handler) for number in _SIGNALS}
    try:
        yield stop
    finally:
        for number, before in previous.items():
            signal.signal(number, before)


def interrupted_summary(document: dict[str, Any], stop: StopRequest | None) -> list[str] | None:
    """When an interrupt came (``stop``, the command's request): the lines saying what was
    done and what was not; else None.

    ``document`` is the command's JSON document; it is marked interrupted
    (``ok`` false, ``exitCode`` 130) in place.
    """
    if stop is None or not stop.requested:
        return None
    done: list[str] = []
    not_done: list[str] = []
    images = (document.get("promotion") or {}).get("images") or []
    for image in images:
        line = f"{image.get('image')}: {image.get('status')}: {image.get('message')}"
        (done if image.get("status") in ("promoted", "rolled-back") else not_done).append(line)
    document["ok"] = False
    document["exitCode"] = EXIT_INTERRUPTED
    document["interrupted"] = {"done": done, "notDone": not_done}
    lines = ["error: interrupted: the promotion stopped at its commit point"]
    lines += [f"  done: {line}" for line in done] or ["  done: nothing"]
    lines += [f"  not done: {line}" for line in not_done]
    return lines
