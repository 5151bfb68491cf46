"""Notes the library layers tell as things happen: a registry's long wait, a
pipeline's warning.

While a listener is registered (the CLI registers one per command, and shows
each note on stderr as one redacted line), every note goes to it, and only to
it. With none, as when promoter is used as a library, a note is a warning of the
``logging`` logger its teller names (``promoter.registry``, ``promoter.pipeline``).
``logging`` is imported then and not before: with ``traceback`` and what that
imports, it is about 5 ms of every command's start-up (issue #24).
"""

from __future__ import annotations

from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["listening", "tell"]

_listeners: list[Callable[[str], None]] = []


def tell(logger: str, line: str) -> None:
    """Tell ``line`` to the listeners, or else as a warning of the logger named ``logger``."""
    listeners = list(_listeners)
    if listeners:
        for listener in listeners:
            listener(line)
        return
    import logging

    logging.getLogger(logger).warning("%s", line)


@contextmanager
def listening(listener: Callable[[str], None]) -> Iterator[None]:
    """Send every note to ``listener`` (from any thread) while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
