"""Planning one image's promotion: what each destination tag needs, read-only.

One HEAD per destination tag tells what it names now. When a tag names nothing, the
repository may be new: one tags list per destination repository (read once per run,
``RunMemo.listing``) answers the other tags' lookups there (an unlisted tag names
nothing) and tells the copy whether the repository exists. A re-run, whose tags are
all there, reads no list. One HEAD by digest per destination repository (only when
some tag there is not at the digest yet) tells whether the content is already present
(a list that answered 404 does not tell: distribution answers so for a repository
holding only untagged content). Nothing is written. A list too long for one page, or
unreadable, leaves every tag to its HEAD.

With two or more destination repositories on a host (``survey``), the host's catalog
is read once per run (``RunMemo.unlisted``). A repository it does not list is new: its
tags list is read first, without the first tag's HEAD (the list stays the authority
on tags), and a list that answers 404 there also stands for the HEAD by digest: the
repository held no blob when the catalog was read (distribution lists a repository
as soon as it holds any blob or manifest). Should a registry's catalog lag behind its
content, such a tag is planned ``copy`` instead of ``tag``, and the copy writes the
same content again: harmless, it is idempotent. A repository the catalog lists, or a
catalog unknown, keeps the HEADs above. Writes never trust it: the last-moment HEAD
of an immutable tag stays, and cosign's tags are still asked tag by tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Executor

from promoter.oci import Reference
from promoter.promote.plan import WRITING_ACTIONS, SignAction, TagAction
from promoter.registry.remote.catalog import read_catalog
from promoter.registry.remote.client import RegistryClient
from promoter.registry.remote.memo import tags_page
from promoter.registry.remote.pool import Registries
from promoter.structs import struct

__all__ = ["TagTarget", "block", "classify", "plan_actions", "survey"]


@struct(frozen=True)
class TagTarget:
    """A tag a promote rule wants in a destination repository, and whether it applies now."""

    destination: Reference  # registry/repository, no tag
    tag: str
    mutable: bool = False
    applies: bool = True
    when: str = "tag"
    line: int = 0


def classify(digest: str | None, current: str | None, mutable: bool, present: bool) -> str:
    """The action for one tag: noop, conflict, tag or copy.

    A tag already at ``digest`` is a noop; an immutable tag elsewhere is a
    conflict; a mutable one may move. Then ``tag`` when the content is at the
    destination, else ``copy``. With the digest unknown (not built yet), an
    existing immutable tag is still a conflict unless it turns out to match,
    so it is planned as ``copy`` and decided once the digest is known.
    """
    if digest is not None and current == digest:
        return "noop"
    if digest is not None and current is not None and not mutable:
        return "conflict"
    return "tag" if present else "copy"


def _reason(action: str, target: TagTarget, digest: str | None, current: str | None) -> str:
    if digest is None:
        return "source digest unknown until the image is built and pushed to staging"
    return {
        "noop": "the tag already names this digest",
        "conflict": f"immutable tag already names {current}",
        "tag": (
            "content present; mutable tag moves from " + current
            if current
            else "content present, tag missing"
        ),
        "copy": "content missing" + (f"; mutable tag moves from {current}" if current else ""),
    }[action]


def plan_actions(
    digest: str | None,
    targets: Sequence[TagTarget],
    registries: Registries,
    pool: Executor,
) -> list[TagAction]:
    """One ``TagAction`` per target, in order (``skipped`` ones cost no request)."""
    live = [t for t in targets if t.applies]
    currents = _currents(registries, live, pool)
    need_content = {t.destination for t in live if digest is not None and currents[t] != digest}
    repos = sorted(need_content, key=str)
    present_list = list(pool.map(lambda r: _has(registries, r, digest), repos))
    present = dict(zip(repos, present_list, strict=True))
    actions: list[TagAction] = []
    for target in targets:
        name = target.destination.name
        if not target.applies:
            actions.append(
                TagAction(
                    name,
                    target.tag,
                    "skipped",
                    None,
                    target.mutable,
                    target.when,
                    f"when: {target.when} is false for this run",
                    target.line,
                )
            )
            continue
        current = currents[target]
        action = classify(digest, current, target.mutable, present.get(target.destination, False))
        actions.append(
            TagAction(
                name,
                target.tag,
                action,
                current,
                target.mutable,
                target.when,
                _reason(action, target, digest, current),
                target.line,
            )
        )
    return actions


def block(actions: Iterable[TagAction | SignAction], reason: str) -> None:
    """Turn every writing action (a copy, a tag, a signature to make) into ``blocked``
    (the policy checks failed)."""
    for action in actions:
        if action.action in WRITING_ACTIONS or action.action == "sign":
            action.action = "blocked"
            action.reason = reason


def survey(registries: Registries, destinations: Iterable[Reference]) -> None:
    """Tell each host the plan's destination repositories there (no request yet): a host
    with two or more has its catalog read once, by the first lookup (see the module)."""
    for destination in destinations:
        registries.client(destination.registry).memo.survey([destination.repository])


def _new(client: RegistryClient, repository: str) -> bool:
    """Whether the host's catalog covers ``repository`` and does not list it."""
    read = lambda names: read_catalog(client.transport, names)  # noqa: E731
    return client.memo.unlisted(repository, read)


def _currents(
    registries: Registries, live: Sequence[TagTarget], pool: Executor
) -> dict[TagTarget, str | None]:
    """What each destination tag names now: the repositories at once, the tags of one
    repository in turn (a first tag found missing has the list read for the others)."""
    groups: dict[Reference, list[TagTarget]] = {}
    for target in live:
        groups.setdefault(target.destination, []).append(target)

    def lookup(group: list[TagTarget]) -> list[tuple[TagTarget, str | None]]:
        return [(target, _tag_digest(registries, target)) for target in group]

    return {t: d for found in pool.map(lookup, list(groups.values())) for t, d in found}


def _tag_digest(registries: Registries, target: TagTarget) -> str | None:
    """What the destination tag names now. A HEAD of the tag; when it names nothing, the
    repository may be new, and one tags list (read once per repository) answers its
    other tags' lookups and tells the copy whether the repository exists (no blob HEAD
    where none does). A re-run, whose tags are all there, reads no list. A repository
    the catalog shows new has its list read first, without the HEAD."""
    reference = target.destination.with_tag(target.tag)
    client = registries.client(reference.registry)
    repository = reference.repository
    client.memo.planned(repository)
    read = lambda name: tags_page(client.transport, name)  # noqa: E731
    listed = client.memo.known_tags(repository)
    if listed is None and _new(client, repository):
        listed = client.memo.listing(repository, read)
    if listed is not None and target.tag not in listed:
        return None  # the last-moment check of an immutable tag asks again before writing
    found = client.head_manifest(reference)
    if found is None and listed is None:
        client.memo.listing(repository, read)
    return found.digest if found else None


def _has(registries: Registries, repository: Reference, digest: str | None) -> bool:
    """Whether ``digest`` is in the destination ``repository``: a HEAD by digest, but
    none where the catalog shows the repository new and its tags list answered 404 (no
    blob there when the catalog was read; see the module for a catalog that lags)."""
    if digest is None:
        return False
    client = registries.client(repository.registry)
    if client.memo.untagged(repository.repository) and _new(client, repository.repository):
        return False
    reference = repository.with_digest(digest)
    return client.head_manifest(reference) is not None
