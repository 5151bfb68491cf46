"""Deadlines and speed floors enforced on every socket read and write of a registry.

httpx's read timeout bounds one read: a registry that trickles a byte a
second never trips it. Here the network streams under httpcore ask the
thread's current ``Scope`` before each read and write: past a small
exchange's deadline, or under a blob transfer's speed floor for a whole
window, the read fails with ``DeadlineExceeded`` (an ``OperationError``, not a
transport error: the retry table does not send it again). A read never waits
past the deadline either: its timeout shrinks to the time left.

Scopes are per thread and nest: the innermost one applies. ``within`` opens a
whole-exchange deadline, ``speed_floor`` a transfer's floor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from promoter.errors import NetworkError

__all__ = ["DeadlineExceeded", "Scope", "deadline_backend", "speed_floor", "time_left", "within"]

_local = threading.local()


class DeadlineExceeded(NetworkError):
    """A small exchange outlived its deadline, or a transfer stayed under its speed floor."""


@dataclass
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


def _deadline_stream(inner: object) -> object:
    import httpcore

    class DeadlineStream(httpcore.NetworkStream):
        def __init__(self, stream: Any) -> None:
            self._stream = stream

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            scope = _current()
            if scope is None:
                return bytes(self._stream.read(max_bytes, timeout))
            try:
                data = bytes(self._stream.read(max_bytes, scope.timeout(timeout)))
            except httpcore.ReadTimeout:
                scope.timed_out()
                raise
            scope.moved(len(data))
            return data

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            scope = _current()
            if scope is not None:
                timeout = scope.timeout(timeout)
            self._stream.write(buffer, timeout)

        def close(self) -> None:
            self._stream.close()

        def start_tls(self, ssl_context: object, server_hostname: str | None = None,
                      timeout: float | None = None) -> Any:  # fmt: skip
            return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

        def get_extra_info(self, info: str) -> object:
            return self._stream.get_extra_info(info)

    return DeadlineStream(inner)


def deadline_backend() -> Any:
    """An httpcore network backend whose streams keep to the thread's scope."""
    import httpcore

    class DeadlineBackend(httpcore.SyncBackend):
        def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
            scope = _current()
            if scope is not None and "timeout" in kwargs:
                kwargs["timeout"] = scope.timeout(kwargs["timeout"])
            return _deadline_stream(super().connect_tcp(*args, **kwargs))

        def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
            return _deadline_stream(super().connect_unix_socket(*args, **kwargs))

    return DeadlineBackend()
