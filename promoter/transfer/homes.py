"""Blob homes: each unique blob crosses to a destination registry once per run.

A registry lets a client mount a blob into a repository from any other
repository of that registry it can read, moving no bytes. ``BlobHomes`` is the
run's memory of where blobs live, per registry host (thread-safe, shared by
every copy of a run: a promotion's images, a batch's lines, a build's pushes):

* the first copy that needs blob D in registry R *claims* it and uploads it;
  copies needing D in R meanwhile wait for that upload (they do not race it),
  then mount D from the claimer's repository. When the upload fails, one
  waiter claims D in turn and uploads it itself;
* the repositories a run knows in R before it starts (the pipeline's own
  destinations, the lines of a batch) are candidates: a claimer first tries
  one mount from the most likely of them (a repository a mount came from
  earlier in the run, else the first one known). That is one POST whatever
  the answer: 201 is a mount; a registry that declines (the blob is not
  there, the repository is not readable) answers 202 with the upload session
  the upload then uses.

A mount that the registry declines always falls back to an upload, never to a
failure. The engine asks ``acquire`` for a ``Ticket`` and ends it with
``done`` (the blob is now in the ticket's repository) or ``failed``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from promoter.registry.access.options import normalize_host
from promoter.structs import field, struct

__all__ = ["BlobHomes", "Ticket"]


@struct
class _Entry:
    """One blob in one registry: a repository holding it, or the upload under way."""

    home: str | None = None
    uploading: threading.Event | None = None


@struct
class Ticket:
    """What a copy does about one blob in one destination repository.

    ``present``: the blob is already in ``repository`` (another copy of this
    run put it there); ``mount_from``: a repository to try a mount from first
    (None: upload); ``claimed``: others wait for this copy's outcome.
    """

    homes: BlobHomes
    host: str
    digest: str
    repository: str
    mount_from: str | None = None
    claimed: bool = False
    present: bool = False
    _ended: bool = field(default=False, repr=False)

    def done(self, *, mounted: bool = False) -> None:
        """The blob is in ``repository`` now (uploaded, or mounted from ``mount_from``)."""
        if not self._ended:
            self._ended = True
            self.homes._settle(self, mounted=mounted)

    def failed(self) -> None:
        """The copy of the blob failed: a waiter may claim it in turn."""
        if not self._ended:
            self._ended = True
            self.homes._release(self)


class BlobHomes:
    """Where blobs live in each destination registry during one run (see the module)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        #: Per host: repositories that may hold blobs, the likeliest first (an ordered set:
        #: a run to thousands of repositories looks them up and reorders them in O(1)).
        self._known: dict[str, OrderedDict[str, None]] = {}
        #: (host, repository, digest) the registry said it holds during this run.
        self._held: set[tuple[str, str, str]] = set()

    def know(self, host: str, repositories: Iterable[str]) -> None:
        """Add candidate homes in ``host`` (repositories written to before, probably)."""
        with self._lock:
            known = self._known.setdefault(normalize_host(host), OrderedDict())
            for repository in repositories:
                known.setdefault(repository)

    def known(self, host: str) -> list[str]:
        """The candidate homes of ``host``, the likeliest first."""
        with self._lock:
            return list(self._known.get(normalize_host(host), ()))

    def home(self, host: str, digest: str) -> str | None:
        """A repository of ``host`` that holds ``digest`` as far as this run knows."""
        with self._lock:
            entry = self._entries.get((normalize_host(host), digest))
            return entry.home if entry is not None else None

    def holds(self, host: str, repository: str, digest: str) -> bool:
        """Whether ``host/repository`` said it holds ``digest`` during this run (a HEAD
        answered, or a mount or upload there finished): no need to ask again."""
        with self._lock:
            return (normalize_host(host), repository, digest) in self._held

    def found(self, host: str, repository: str, digest: str) -> None:
        """``repository`` holds ``digest`` (the registry said so): a home for the others."""
        host = normalize_host(host)
        with self._lock:
            self._held.add((host, repository, digest))
            entry = self._entries.setdefault((host, digest), _Entry())
            if entry.home is None:
                entry.home = repository

    def acquire(self, host: str, repository: str, digest: str) -> Ticket:
        """What to do about ``digest`` missing from ``host/repository``; waits while
        another copy of this run uploads it to ``host``."""
        host = normalize_host(host)
        while True:
            with self._lock:
                entry = self._entries.setdefault((host, digest), _Entry())
                if entry.home == repository:
                    return Ticket(self, host, digest, repository, present=True)
                if entry.home is not None:
                    return Ticket(self, host, digest, repository, mount_from=entry.home)
                if entry.uploading is None:
                    entry.uploading = threading.Event()
                    candidate = next(
                        (r for r in self._known.get(host, ()) if r != repository), None
                    )
                    return Ticket(
                        self, host, digest, repository, mount_from=candidate, claimed=True
                    )
                uploading = entry.uploading
            uploading.wait()

    def _settle(self, ticket: Ticket, *, mounted: bool) -> None:
        with self._lock:
            entry = self._entries.setdefault((ticket.host, ticket.digest), _Entry())
            if entry.home is None:
                entry.home = ticket.repository
            self._held.add((ticket.host, ticket.repository, ticket.digest))
            known = self._known.setdefault(ticket.host, OrderedDict())
            if mounted and ticket.mount_from is not None:
                # a repository that held one blob likely holds its siblings (a base image)
                known.setdefault(ticket.mount_from)
                known.move_to_end(ticket.mount_from, last=False)
            known.setdefault(ticket.repository)
            self._wake(entry, ticket)

    def _release(self, ticket: Ticket) -> None:
        with self._lock:
            entry = self._entries.get((ticket.host, ticket.digest))
            if entry is not None:
                self._wake(entry, ticket)

    @staticmethod
    def _wake(entry: _Entry, ticket: Ticket) -> None:
        if ticket.claimed and entry.uploading is not None:
            entry.uploading.set()
            entry.uploading = None
