"""Threads for a copy, started when there is work for them.

A copy that finds its destination up to date makes two requests, one at each
side, and waits on both at once; it needs one more thread for that, not a
pool. ``Workers`` is the copy's pool, started on its first task: a re-run with
nothing to do starts none, and does not import ``concurrent.futures`` (which
imports ``logging``, ``traceback`` and ``queue``: about 7 ms of a 0.1 s
process, issue #24). ``in_background`` runs one call in a thread of its own.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from concurrent.futures import Executor, Future, ThreadPoolExecutor
    from typing import Any, ParamSpec, TypeVar

    _P = ParamSpec("_P")
    _T = TypeVar("_T")
    _Base = Executor
else:
    _Base = object

__all__ = ["Workers", "in_background"]


class Workers(_Base):
    """A ``ThreadPoolExecutor`` of ``jobs`` threads, made on the first ``submit`` or ``map``."""

    def __init__(self, jobs: int, thread_name_prefix: str) -> None:
        self._jobs = max(1, jobs)
        self._prefix = thread_name_prefix
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._pool is not None

    def _started(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self._jobs, thread_name_prefix=self._prefix)
            return self._pool

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        return self._started().submit(fn, *args, **kwargs)

    def map(
        self,
        fn: Callable[..., _T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[_T]:
        return self._started().map(fn, *iterables, timeout=timeout, chunksize=chunksize)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def in_background(fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Callable[[], _T]:
    """Start ``fn(*args, **kwargs)`` in a thread of its own. The function returned
    waits for it, and returns its value or raises what it raised."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, fn(*args, **kwargs)))
        except BaseException as error:  # handed to whoever waits
            outcome.append((False, error))

    thread = threading.Thread(target=run, name="copy-background", daemon=True)
    thread.start()

    def result() -> _T:
        thread.join()
        done, value = outcome[0]
        if not done:
            raise value
        return value  # type: ignore[no-any-return]

    return result
