"""Requests counted by the proxy of ``tests/support/fault_proxy.py``, sorted by kind.

The kinds of issue #24: ping, manifest GET / HEAD / PUT, blob HEAD / GET, mount, upload,
referrers (the referrers API and the fallback ``sha256-<hex>`` tags read at the source,
``.sig`` and ``.att`` included), tags list, catalog (``/v2/_catalog``), record, token and
other.

A promotion record is told apart by its digests: every manifest or blob digest that is
not one of the images' own (``known``) belongs to a record, and so does every request for
a ``sha256-<hex>`` fallback index tag at a destination. An upload is a POST and a PUT
(or PATCHes) with only the PUT naming the digest, so as many bare POSTs move from
``upload`` to ``record`` as record blobs were PUT.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from tests.support.fault_proxy import Exchange

__all__ = ["KINDS", "classify", "kinds_table"]

KINDS = (
    "ping", "token", "manifest GET", "manifest HEAD", "manifest PUT", "blob HEAD",
    "blob GET", "mount", "upload", "referrers", "tags list", "catalog", "record", "other",
)  # fmt: skip
_MANIFEST = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
_BLOB = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
_UPLOAD = re.compile(r"^/v2/(.+)/blobs/uploads/")
_FALLBACK = re.compile(r"^sha256-[0-9a-f]{64}")


def _kind(exchange: Exchange, known: frozenset[str], destination: bool) -> str:
    url = urlsplit(exchange.path)
    path, query = url.path, parse_qs(url.query)
    method = exchange.method
    if path in ("/v2/", "/v2"):
        return "ping"
    if "/referrers/" in path:
        return "referrers"
    if path.endswith("/tags/list"):
        return "tags list"
    if path == "/v2/_catalog":
        return "catalog"
    if (m := _MANIFEST.match(path)) is not None:
        reference = m[2]
        if _FALLBACK.match(reference):
            return "record" if destination and "." not in reference else "referrers"
        if reference.startswith("sha256:") and reference not in known:
            return "record"
        return f"manifest {method}" if method in ("GET", "HEAD", "PUT") else "other"
    if (m := _BLOB.match(path)) is not None:
        if m[2] not in known:
            return "record"
        return f"blob {method}" if method in ("GET", "HEAD") else "other"
    if _UPLOAD.match(path):
        if "mount" in query:
            return "record" if query["mount"][0] not in known else "mount"
        digest = query.get("digest", [""])[0]
        if method == "PUT" and digest and digest not in known:
            return "record"
        return "upload"
    if "token" in path:
        return "token"
    return "other"


def classify(
    exchanges: Iterable[Exchange], known: Iterable[str], *, destination: bool
) -> Counter[str]:
    """Requests per kind; ``known``: the digests of the images' own manifests and blobs."""
    digests = frozenset(known)
    counts: Counter[str] = Counter()
    record_puts = 0
    for exchange in exchanges:
        kind = _kind(exchange, digests, destination)
        counts[kind] += 1
        if kind == "record" and exchange.method == "PUT" and "/blobs/uploads/" in exchange.path:
            record_puts += 1
    moved = min(record_puts, counts["upload"] - record_puts)
    if moved > 0:  # each record blob's bare POST
        counts["upload"] -= moved
        counts["record"] += moved
    return counts


def kinds_table(columns: Mapping[str, Mapping[str, int]], per: int) -> Sequence[Sequence[str]]:
    """Rows (heading first) of requests per kind for each column, and per ``per`` images."""
    heading = ["kind"]
    for name in columns:
        heading += [name, f"{name} / image"]
    rows: list[Sequence[str]] = [heading]
    for kind in (*KINDS, "total"):
        cells = [kind]
        values = []
        for counts in columns.values():
            value = sum(counts.values()) if kind == "total" else counts.get(kind, 0)
            values.append(value)
            cells += [str(value), f"{value / per:.2f}"]
        if any(values):
            rows.append(cells)
    return rows
