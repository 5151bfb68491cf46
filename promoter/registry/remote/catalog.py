"""A registry host's catalog (``GET /v2/_catalog``), read at most once per run by the plan.

The plan asks it only for a host with two or more destination repositories: one
request then tells which of them are new, where otherwise each costs a tag HEAD
before its tags list, and a HEAD by digest after a list that answered 404
(``promoter.promote.classify``). One page of at most ``PAGE`` names is read, starting
just before the plan's names (``last=``, a proper prefix of every one of them).

A page tells only about the names it covers: those after the name it starts from and,
when it is partial (a ``Link`` header, or full), up to its last name. distribution
sorts the catalog by path component (``a/b`` before ``a-c``), other registries may
sort plain strings: a name counts as covered only when it falls inside the page in
both orders. Any failure (a refused scope, 404, another status, a body that is not
the catalog, a transport error) is "catalog unknown" and costs nothing more: the
catalog is never more than a way to skip a read, and it is never retried.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote

from promoter.errors import OperationError
from promoter.registry.transport.transport import RegistryRequest, RegistryTransport
from promoter.structs import struct

__all__ = ["CATALOG_SCOPE", "PAGE", "Catalog", "read_catalog", "start_after"]

#: The token scope of the catalog (Docker's token specification).
CATALOG_SCOPE = "registry:catalog:*"
#: Names read in one page: distribution's default ``catalog.maxentries`` (above it: 400).
PAGE = 1000


def _below(a: str, b: str) -> bool:
    """``a`` sorts before ``b`` both as plain strings and component by component."""
    return a < b and a.replace("/", "\x00") < b.replace("/", "\x00")


@struct(frozen=True)
class Catalog:
    """One page of a host's catalog: the names it lists, the name it starts after
    (``""``: the first), and its last name when the catalog goes on (None: it does not)."""

    names: frozenset[str]
    after: str = ""
    through: str | None = None

    def absent(self, repository: str) -> bool:
        """Whether the page covers ``repository`` and does not list it."""
        if repository in self.names:
            return False
        if self.after and not _below(self.after, repository):
            return False
        return self.through is None or _below(repository, self.through)


def start_after(repositories: Sequence[str]) -> str:
    """A name every one of ``repositories`` sorts after in either order: their common
    prefix, shortened by one when it is one of them (``""``: start from the first)."""
    if not repositories:
        return ""
    first, last = min(repositories), max(repositories)  # what they share, all share
    size = next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first)
    )
    prefix = first[:size]
    return prefix[:-1] if prefix in repositories else prefix


def read_catalog(transport: RegistryTransport, repositories: Sequence[str]) -> Catalog | None:
    """The page of the catalog that starts just before ``repositories``; None when the
    host does not answer it (see the module), after that one request."""
    after = start_after(repositories)
    query = f"n={PAGE}" + (f"&last={quote(after, safe='')}" if after else "")
    request = RegistryRequest(
        "GET", f"/v2/_catalog?{query}", scopes=(CATALOG_SCOPE,), reference=transport.host,
        action="read the catalog", retry=False,
    )  # fmt: skip
    try:
        response = transport.send(request)
        listed = json.loads(response.content)["repositories"]
    except (OperationError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        return None
    partial = "Link" in response.headers or len(listed) >= PAGE
    if partial and not listed:
        return None
    # the page's last name in the registry's own order; ``absent`` asks both orders
    return Catalog(frozenset(listed), after, listed[-1] if partial else None)
