"""Ending a ``promoter`` process without the interpreter's teardown, once a command is done.

At exit CPython clears every module and collects what is left: for a short
command (a copy with nothing to do) that is 10-15 % of the process's CPU
(about 35 ms of 250 ms on the benchmark machine, growing with the modules a
command loaded), to free memory the kernel takes back at once anyway.

``skip_teardown()`` registers an ``atexit`` handler first thing in ``main``;
``finish(code)`` exits through ``sys.exit`` as before. Everything of an
ordinary exit that matters happens first: ``sys.exit`` unwinds every ``finally``
and ``with``, non-daemon threads are joined and executors shut down, and every
``atexit`` handler registered later (weakref finalizers such as temporary
directories', anything a command's libraries registered) has run, since they
run last in, first out. Then the handler shuts ``logging`` down (the only
handler registered before it, when a command imported ``logging``), flushes stdout and stderr, and ends
the process with ``os._exit``. An exit by any other path (an exception, a
``sys.exit`` of a library) takes the ordinary teardown.

Only the process's own entry point uses it: ``main()`` called with arguments (the
tests, a caller in its own process) exits as before.
"""

from __future__ import annotations

import atexit
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["finish", "skip_teardown"]

#: The exit code ``finish`` was given (none: the ordinary teardown).
_codes: list[int] = []


def skip_teardown() -> None:
    """Have a later ``finish(code)`` end the process without the interpreter's teardown."""
    atexit.register(_exit_now)


def finish(code: int) -> NoReturn:
    """``sys.exit(code)``; after the ``atexit`` handlers, the process ends at once."""
    _codes.append(code)
    sys.exit(code)


def _exit_now() -> None:
    if not _codes:
        return
    code = _codes[-1]
    logging = sys.modules.get("logging")  # imported by a command, or not at all
    if logging is not None:
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # as CPython: a failed flush at exit is status 120
            code = code or 120
    os._exit(code)
