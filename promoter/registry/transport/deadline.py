"""Deadlines and speed floors enforced on every socket read and write of a registry.

A socket timeout bounds one read: a registry that trickles a byte a second
never trips it. Here the sockets of ``promoter.registry.transport.connections``
(``DeadlineSocket``) ask the thread's current ``Scope`` before each read and write: past a small
exchange's deadline, or under a blob transfer's speed floor for a whole
window, the read fails with ``DeadlineExceeded`` (an ``OperationError``, not a
transport error: the retry table does not send it again). A read never waits
past the deadline either: its timeout shrinks to the time left.

Scopes are per thread and nest: the innermost one applies. ``within`` opens a
whole-exchange deadline, ``speed_floor`` a transfer's floor.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from promoter.errors import NetworkError
from promoter.structs import field, struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DeadlineExceeded", "DeadlineSocket", "Scope", "speed_floor", "time_left", "timeout_now", "within",
]  # fmt: skip

_local = threading.local()


class DeadlineExceeded(NetworkError):
    """A small exchange outlived its deadline, or a transfer stayed under its speed floor."""


@struct
class Scope:
    """What the reads of one thread must keep to: a deadline, or a speed floor."""

    message: str
    until: float | None = None
    #: Bytes per second the transfer must keep over each ``window`` seconds.
    floor: float = 0.0
    window: float = 0.0
    _window_start: float = field(default_factory=time.monotonic)
    _window_bytes: int = 0

    def timeout(self, timeout: float | None) -> float | None:
        """The timeout of the next read or write; raise when the scope is spent."""
        now = time.monotonic()
        ends: list[float] = []
        if self.until is not None:
            if now >= self.until:
                raise DeadlineExceeded(self.message)
            ends.append(self.until - now)
        if self.floor and self.window:
            if now - self._window_start >= self.window:
                if self._window_bytes < self.floor * self.window:
                    raise DeadlineExceeded(self.message)
                self._window_start, self._window_bytes = now, 0
            ends.append(self._window_start + self.window - now + 0.05)
        if not ends:
            return timeout
        return min([*ends, timeout] if timeout is not None else ends)

    def moved(self, count: int) -> None:
        self._window_bytes += count

    def timed_out(self) -> None:
        """A read timed out: past the scope's end, that is the scope's failure."""
        self.timeout(None)


def _current() -> Scope | None:
    stack: list[Scope] = getattr(_local, "stack", [])
    return stack[-1] if stack else None


def time_left() -> float | None:
    """Seconds left of the thread's innermost deadline (None outside one)."""
    scope = _current()
    if scope is None or scope.until is None:
        return None
    return max(0.0, scope.until - time.monotonic())


@contextmanager
def _scope(scope: Scope) -> Iterator[Scope]:
    stack: list[Scope] = getattr(_local, "stack", None) or []
    _local.stack = stack
    stack.append(scope)
    try:
        yield scope
    finally:
        stack.remove(scope)  # by identity: a generator's scope may close out of order


@contextmanager
def within(seconds: float, message: str) -> Iterator[Scope]:
    """A whole-exchange deadline of ``seconds`` (an enclosing earlier one still wins)."""
    until = time.monotonic() + seconds
    outer = _current()
    if outer is not None and outer.until is not None and outer.until <= until:
        yield outer
        return
    with _scope(Scope(message, until=until)) as scope:
        yield scope


@contextmanager
def speed_floor(bytes_per_second: float, window: float, message: str) -> Iterator[Scope]:
    """A transfer that must move ``bytes_per_second`` on average over every ``window``."""
    with _scope(Scope(message, floor=bytes_per_second, window=window)) as scope:
        yield scope


def timeout_now(default: float | None) -> float | None:
    """The timeout of the thread's next connect, read or write: what its scope leaves
    (raising ``DeadlineExceeded`` when it is spent), else ``default``."""
    scope = _current()
    return default if scope is None else scope.timeout(default)


class _Reader(io.RawIOBase):
    """The raw reads of one socket, each within the thread's scope."""

    def __init__(self, owner: DeadlineSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._owner.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._owner.file_closed()


class DeadlineSocket:
    """A connected socket whose every read and write keeps to the thread's scope: a
    deadline, or a speed floor (the bytes read count towards it); ``stall`` bounds
    each one outside any scope. What ``http.client`` asks of a socket is here."""

    def __init__(self, sock: socket.socket, stall: float | None) -> None:
        self._sock = sock
        self._stall = stall
        #: Open readers of ``makefile``: as for a plain socket, ``close`` waits for them
        #: (``http.client`` closes the connection while its answer is still read).
        self._files = 0
        self._closing = False

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        scope = _current()
        self._sock.settimeout(self._stall if scope is None else scope.timeout(self._stall))
        try:
            count = self._sock.recv_into(buffer, nbytes)
        except TimeoutError:
            if scope is not None:
                scope.timed_out()
            raise
        if scope is not None:
            scope.moved(count)
        return count

    def sendall(self, data: Any) -> None:
        scope = _current()
        self._sock.settimeout(self._stall if scope is None else scope.timeout(self._stall))
        try:
            self._sock.sendall(data)
        except TimeoutError:
            if scope is not None:
                scope.timed_out()
            raise

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._files += 1
        return io.BufferedReader(_Reader(self), 64 * 1024)

    def file_closed(self) -> None:
        self._files -= 1
        if self._closing and self._files <= 0:
            self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._closing = True
        if self._files <= 0:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
