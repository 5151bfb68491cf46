"""What one run has already learnt from a registry host, so it is not asked twice.

A ``RegistryClient`` lives for one run (``promoter.registry.remote.pool.Registries``), and
the run's stages ask the same host the same questions: the check stage reads a
manifest and its config, the promote stage reads them again to copy them, and both
look for cosign's ``sha256-<hex>.sig`` / ``.att`` / ``.sbom`` tags and the
``sha256-<hex>`` referrers index, once per image and kind. ``RunMemo`` keeps:

- content by digest (manifests, those read by tag too, under the digest they were
  checked against; and blobs up to ``BLOB_LIMIT``), per repository (a digest
  readable in one repository says nothing of another), within ``BUDGET`` bytes in
  all: content does not change under its digest;
- whether the host answers the referrers API (a registry that does never answers
  404 to it, OCI distribution 1.1), learnt from the first call or probe: concurrent
  callers wait for that one answer;
- one tags list per repository, read when the plan first asks for a destination
  tag (an unlisted tag names nothing: no HEAD; the fallback forms are then asked
  tag by tag there, cosign's being read-modify-written after the copy) or on the
  first lookup of a tag of the fallback forms above, which then answers every such
  lookup that it does not list (absent: no request). A listed tag is still asked for (its digest may have moved). The
  run's own tag writes are added to the list and a delete forgets it, so the list
  never hides what the run wrote; a repository the run has written to before any
  list was read there is asked tag by tag, and reads that feed a read-modify-write
  (the referrers index) bypass the list (``fresh``);
- the repositories whose tags list answered 404 when first read: no tag there, and
  on distribution no repository or only untagged content (an interrupted promotion's,
  a push by digest). Their manifests are still asked for by digest; their blobs are
  not (the copy asks ``BlobHomes`` which blobs the run put there since), so a blob
  left there by untagged content is mounted or uploaded again, the one cost.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext

from promoter.registry.transport.auth import pull_scope
from promoter.registry.transport.transport import RegistryRequest, RegistryTransport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.remote.catalog import Catalog

__all__ = [
    "BLOB_LIMIT", "BUDGET", "PAGE", "CatalogReader", "Reader", "RunMemo", "is_fallback_tag",
    "tags_page",
]  # fmt: skip

#: Blobs up to this size are kept once read (configs, small artifacts).
BLOB_LIMIT = 256 * 1024
#: Bytes of content kept in all, per host.
BUDGET = 8 * 1024 * 1024
#: Tags read in one list; a repository with more is asked tag by tag.
PAGE = 1000
#: A pattern's text: ``re`` compiles it at first use and keeps it (most runs never use it).
_FALLBACK = r"^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$"
#: Reads a repository's tags list: the tags (None: too many, unreadable), and whether
#: the repository is absent.
Reader = Callable[[str], tuple[list[str] | None, bool]]
#: Reads the host's catalog near the given repositories (None: unknown).
CatalogReader = Callable[[Sequence[str]], "Catalog | None"]


def is_fallback_tag(tag: str) -> bool:
    """A referrers-index tag (``sha256-<hex>``) or one of cosign's (``.sig``, ``.att``, ``.sbom``)."""
    return re.match(_FALLBACK, tag) is not None


class RunMemo:
    """One host's answers for one run (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._content: dict[tuple[str, str], object] = {}
        self._held = 0
        self._tags: dict[str, set[str] | None] = {}
        self._written: dict[str, set[str]] = {}
        self._reading: dict[str, threading.Lock] = {}
        self._untagged: set[str] = set()
        self._planned: set[str] = set()
        self._surveyed: frozenset[str] = frozenset()
        self._catalog: Catalog | None = None
        self._catalog_read = False
        self._cataloging = threading.Lock()
        self.referrers_api: bool | None = None
        #: Held while the referrers API is probed, so the host is probed once.
        self.probing = threading.Lock()

    def asking(self) -> AbstractContextManager[object]:
        """``probing`` until the host has answered a referrers API call (then nothing):
        concurrent callers wait for that answer instead of each asking."""
        return self.probing if self.referrers_api is None else nullcontext()

    # -- content by digest ------------------------------------------------------------

    def content(self, repository: str, digest: str) -> object | None:
        with self._lock:
            return self._content.get((repository, digest))

    def keep(self, repository: str, digest: str, value: object, size: int) -> None:
        """Keep ``value`` (``size`` bytes) read by ``digest``, within the budget."""
        if size > BLOB_LIMIT:
            return
        with self._lock:
            if (repository, digest) in self._content or self._held + size > BUDGET:
                return
            self._content[(repository, digest)] = value
            self._held += size

    # -- fallback tags -----------------------------------------------------------------

    def tag_absent(self, repository: str, tag: str, read: Reader) -> bool:
        """Whether the tags list says ``tag`` (a fallback form) is not in ``repository``.

        Never in a destination whose list the plan read: cosign's tags there are
        read-modify-written after the copy, and a concurrent signer's tag must not be
        hidden by a list read before it (asked tag by tag, as when the plan read no
        lists)."""
        if not is_fallback_tag(tag):
            return False
        with self._lock:
            if repository in self._planned:
                return False
        tags = self.listing(repository, read)
        return tags is not None and tag not in tags

    def listing(self, repository: str, read: Reader) -> frozenset[str] | None:
        """The tags of ``repository``: its list, read once (``read``: the tags, None when
        too many to hold or unreadable; and whether the repository is absent), plus the
        run's own tag writes. None: ask tag by tag (a repository this run wrote a tag
        to before any list was read there, or a list too long)."""
        with self._lock:
            if repository not in self._tags and repository in self._written:
                return None  # a repository this run writes to: ask there, fresh
            reading = self._reading.setdefault(repository, threading.Lock())
        with reading:  # one list per repository, however many threads ask at once
            with self._lock:
                known = repository in self._tags
            if not known:
                listed, absent = read(repository)
                with self._lock:  # our writes count even if the list missed them
                    written = self._written.get(repository, set())
                    self._tags[repository] = None if listed is None else set(listed) | written
                    if absent:
                        self._untagged.add(repository)
        return self.known_tags(repository)

    def known_tags(self, repository: str) -> frozenset[str] | None:
        """The tags of ``repository`` if its list was read (plus the run's own writes);
        None when it was not read, or too long to hold. Reads nothing."""
        with self._lock:
            tags = self._tags.get(repository)
            return None if tags is None else frozenset(tags)

    def planned(self, repository: str) -> None:
        """The plan reads ``repository`` as a destination (see ``tag_absent``)."""
        with self._lock:
            self._planned.add(repository)

    # -- the catalog ---------------------------------------------------------------

    def survey(self, repositories: Iterable[str]) -> None:
        """The plan's destination repositories on this host (no request): with two or
        more, the first ``unlisted`` reads the catalog for them."""
        with self._lock:
            self._surveyed = self._surveyed | frozenset(repositories)

    def unlisted(self, repository: str, read: CatalogReader) -> bool:
        """Whether the host's catalog, read once per run (``read``) for a survey of two
        or more repositories, covers ``repository`` and does not list it. False when
        there is no such survey, the catalog is unknown, or its page ends before."""
        with self._lock:
            surveyed = self._surveyed
        if len(surveyed) < 2 or repository not in surveyed:
            return False
        with self._cataloging:  # one request, however many threads ask at once
            if not self._catalog_read:
                self._catalog = read(sorted(surveyed))
                self._catalog_read = True
        return self._catalog is not None and self._catalog.absent(repository)

    def untagged(self, repository: str) -> bool:
        """Whether the tags list of ``repository`` answered 404 when first read (see the
        module: no blob there but the run's own and untagged content's)."""
        with self._lock:
            return repository in self._untagged

    def tagged(self, repository: str, tag: str) -> None:
        """The run wrote ``tag``: a list read before must not hide it."""
        with self._lock:
            self._written.setdefault(repository, set()).add(tag)
            tags = self._tags.get(repository)
            if tags is not None:
                tags.add(tag)

    def forget(self, repository: str) -> None:
        """A delete in ``repository``: its tags list is no longer true."""
        with self._lock:
            self._tags.pop(repository, None)
            self._untagged.discard(repository)
            for key in [k for k in self._content if k[0] == repository]:
                del self._content[key]


def tags_page(transport: RegistryTransport, repository: str) -> tuple[list[str] | None, bool]:
    """The tags of ``repository`` in one page, or None when there are more (then each tag
    is asked for, as without a list); and whether the repository is absent (404)."""
    reference = f"{transport.host}/{repository}"
    response = transport.send(
        RegistryRequest(
            "GET", f"/v2/{repository}/tags/list?n={PAGE}", scopes=(pull_scope(repository),),
            reference=reference, action="list tags", expect=(200, 404),
        )
    )  # fmt: skip
    if response.status_code == 404:
        return [], True
    try:
        listed = json.loads(response.content).get("tags") or []
    except (ValueError, AttributeError):
        return None, False
    if "Link" in response.headers or not isinstance(listed, list) or len(listed) >= PAGE:
        return None, False
    return [str(t) for t in listed], False
