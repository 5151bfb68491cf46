"""What a staging repository holds, as far as a registry shows it: tags, digests, created times.

distribution has no "list manifests" API: the tag list is all a plain registry
offers, so a survey starts there. Ordinary tags are read (one manifest GET
each), grouped by digest; an image's created time comes from the manifest's
``org.opencontainers.image.created`` annotation, else its config's label of
that name, else the config's ``created`` (one config GET). An index's children
are read the same way. Referrer tags (the fallback ``sha256-<hex>`` index and
cosign's ``sha256-<hex>.sig``/``.att`` tags) are only sorted by the digest they
name here: they are read when their subject is to be deleted.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from promoter.errors import RegistryError
from promoter.oci.reference import Reference
from promoter.structs import field, struct

if TYPE_CHECKING:
    from promoter.registry.remote.client import RegistryClient

__all__ = [
    "CREATED",
    "Stored",
    "Survey",
    "parse_created",
    "referrer_tag",
    "survey_repository",
]

CREATED = "org.opencontainers.image.created"

#: ``sha256-<hex>`` (the referrers fallback index) or ``sha256-<hex>.<suffix>`` (cosign).
_REFERRER_TAG = re.compile(r"^(sha256)-([0-9a-f]{64})(?:\.([A-Za-z0-9_-]+))?$")
_FRACTION = re.compile(r"(\.\d{1,6})\d*")
#: Manifests and configs read in parallel per repository.
_WORKERS = 8


def referrer_tag(tag: str) -> tuple[str, str | None] | None:
    """The subject digest a referrer tag names and its suffix (None: the fallback index),
    or None for an ordinary tag."""
    match = _REFERRER_TAG.match(tag)
    if match is None:
        return None
    return f"{match[1]}:{match[2]}", match[3]


def parse_created(value: object) -> datetime | None:
    """An RFC 3339 time (Go writes nanoseconds) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip().replace("Z", "+00:00").replace("z", "+00:00"), 1)
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)


@struct
class Stored:
    """One manifest of the repository: its tags, kind, created time, children and subject."""

    digest: str
    media_type: str = ""
    tags: list[str] = field(default_factory=list)
    created: datetime | None = None
    children: tuple[str, ...] = ()
    subject: str | None = None
    config: str | None = None

    @property
    def is_index(self) -> bool:
        return bool(self.children) or "index" in self.media_type or "list" in self.media_type


@struct
class Survey:
    """A repository as its tag list shows it."""

    repository: Reference
    tags: list[str] = field(default_factory=list)
    #: digest -> what is stored; the digests ordinary tags name and the children of indexes.
    stored: dict[str, Stored] = field(default_factory=dict)
    #: subject digest -> its fallback index tag ``sha256-<hex>``.
    fallback: dict[str, str] = field(default_factory=dict)
    #: subject digest -> cosign's tags (``.sig``, ``.att``, ...).
    cosign: dict[str, list[str]] = field(default_factory=dict)

    @property
    def tagged(self) -> list[Stored]:
        """The manifests an ordinary tag names, newest first (no created time: last)."""
        found = [s for s in self.stored.values() if s.tags]
        epoch = datetime.min.replace(tzinfo=timezone.utc)
        return sorted(found, key=lambda s: (s.created or epoch, s.digest), reverse=True)

    def referrer_tags(self, digest: str) -> list[str]:
        """The fallback and cosign tags naming ``digest`` as their subject."""
        found = [self.fallback[digest]] if digest in self.fallback else []
        return found + self.cosign.get(digest, [])


def _read(client: RegistryClient, reference: Reference) -> Stored:
    fetched = client.get_manifest(reference)
    document = json.loads(fetched.raw)
    stored = Stored(fetched.digest, fetched.media_type)
    if not isinstance(document, dict):
        return stored
    annotations = document.get("annotations") or {}
    stored.created = parse_created(annotations.get(CREATED)) if annotations else None
    children = document.get("manifests")
    if isinstance(children, list):
        stored.children = tuple(str(c.get("digest")) for c in children if isinstance(c, dict))
    subject = document.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
        stored.subject = subject["digest"]
    config = document.get("config")
    if isinstance(config, dict) and isinstance(config.get("digest"), str):
        stored.config = config["digest"]
    return stored


def _config_created(client: RegistryClient, repository: str, digest: str) -> datetime | None:
    """The config's ``org.opencontainers.image.created`` label, else its ``created``."""
    try:
        document: object = json.loads(client.get_blob_bytes(repository, digest, max_size=4 << 20))
    except (ValueError, RegistryError):  # unreadable or missing: no date, so it is kept
        return None
    if not isinstance(document, dict):
        return None
    runtime = document.get("config")
    labels = runtime.get("Labels") if isinstance(runtime, dict) else None
    if isinstance(labels, dict) and parse_created(labels.get(CREATED)):
        return parse_created(labels.get(CREATED))
    return parse_created(document.get("created"))


def _complete(client: RegistryClient, repository: str, stored: Stored) -> Stored:
    """The created time of an image manifest from its config, when the manifest has none."""
    if stored.created is None and stored.config and not stored.is_index:
        stored.created = _config_created(client, repository, stored.config)
    return stored


def _sort_tags(survey: Survey) -> list[str]:
    ordinary = []
    for tag in survey.tags:
        named = referrer_tag(tag)
        if named is None:
            ordinary.append(tag)
        elif named[1] is None:
            survey.fallback[named[0]] = tag
        else:
            survey.cosign.setdefault(named[0], []).append(tag)
    return ordinary


def _children(client: RegistryClient, survey: Survey, pool: ThreadPoolExecutor) -> None:
    """Read every index's children (and theirs), then date each index by its newest child."""
    base = survey.repository
    wanted = {c for s in survey.stored.values() for c in s.children} - set(survey.stored)
    while wanted:
        read = pool.map(
            lambda d: _complete(client, base.repository, _read(client, base.with_digest(d))),
            sorted(wanted),
        )
        for stored in read:
            survey.stored[stored.digest] = stored
        wanted = {c for s in survey.stored.values() for c in s.children} - set(survey.stored)
    for stored in survey.stored.values():
        if stored.created is None and stored.children:
            stamps = [survey.stored[c].created for c in stored.children]
            known = [s for s in stamps if s is not None]
            stored.created = max(known) if known else None


def survey_repository(client: RegistryClient, repository: Reference) -> Survey:
    """Tags, the digests they name, created times and index children of ``repository``."""
    survey = Survey(repository, client.list_tags(repository.repository))
    ordinary = _sort_tags(survey)
    with ThreadPoolExecutor(_WORKERS) as pool:
        read = pool.map(lambda t: (t, _read(client, repository.with_tag(t))), ordinary)
        for tag, stored in read:
            known = survey.stored.setdefault(stored.digest, stored)
            known.tags.append(tag)
        fresh = [s for s in survey.stored.values() if s.created is None and s.config]
        list(pool.map(lambda s: _complete(client, repository.repository, s), fresh))
        _children(client, survey, pool)
    return survey
