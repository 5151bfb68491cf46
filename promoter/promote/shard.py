"""Shards of one plan: several CI jobs share a plan's content copies, one job writes the tags.

``promoter apply plan.json --shard I/N`` uploads shard I's share of the blobs
the plan's ``copy`` actions need; ``promoter apply plan.json --finish`` checks
that every destination holds them, then applies the plan as ``apply`` does
(manifests, verification, tags, records, all-or-nothing).

The work is a pure function of the plan: each image's graph is read from
staging *by digest* (immutable), and a *unit* is one blob in one destination
registry, with the destination repositories there that need it. Units go to
shards by bytes: largest first (ties by host, then digest), each to the least
loaded shard (ties: the lowest index). Every unit belongs to exactly one
shard, so two shards never upload the same blob to a registry, and a shard run
again redoes the same work (what is already there is skipped after a HEAD).

A shard uploads each of its blobs once per destination registry (to the first
repository that needs it; the others get a cross-repository mount) and writes
no manifest, no tag and no record: a manifest needs its blobs in place, so the
manifests are written by ``--finish``. Referrers (signatures, SBOMs) are not
sharded: ``--finish`` copies them with the images, as ``apply`` does.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor

from promoter.errors import InputError, RefusedError
from promoter.oci import Descriptor
from promoter.oci.reference import parse_registry_reference
from promoter.promote.plan import ImagePlan, PromotionPlan
from promoter.promote.verify import content_of
from promoter.registry.remote.pool import Registries
from promoter.registry.target import RepositoryTarget
from promoter.structs import field, struct
from promoter.transfer.endpoints import TargetEndpoint
from promoter.transfer.homes import BlobHomes

__all__ = [
    "AUTO_ENV",
    "MAX_SHARDS",
    "BlobUnit",
    "IncompleteContentError",
    "MissingBlob",
    "ShardReport",
    "ShardSpec",
    "assign_units",
    "content_units",
    "missing_content",
    "parse_shard",
    "require_complete",
    "run_shard",
]

#: Azure DevOps' variables of a job in a ``strategy: parallel`` phase (1-based position, count).
AUTO_ENV = ("SYSTEM_JOBPOSITIONINPHASE", "SYSTEM_TOTALJOBSINPHASE")
#: More shards than this is a typo, not a plan.
MAX_SHARDS = 256
#: How many missing blobs ``--finish`` lists before it counts the rest.
LISTED_MISSING = 20

_SHARD = re.compile(r"^\s*(\d{1,6})\s*/\s*(\d{1,6})\s*$")


@struct(frozen=True)
class ShardSpec:
    """Shard ``index`` of ``total`` (1-based)."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str, env: Mapping[str, str]) -> ShardSpec:
    """``I/N`` (1 <= I <= N), or ``auto`` (Azure DevOps' job position); ``InputError`` else.

    The error is one line: what is wrong and the fix.
    """
    fix = f"give --shard I/N with 1 <= I <= N <= {MAX_SHARDS}, or auto in an Azure DevOps job"
    origin = f"--shard {text[:40]!r}"
    if text.strip() == "auto":
        position, count = (env.get(name, "").strip() for name in AUTO_ENV)
        if not position or not count:
            unset = [name for name in AUTO_ENV if not env.get(name, "").strip()]
            raise InputError(
                f"--shard auto: {' and '.join(unset)} not set (Azure DevOps sets them in a "
                "job with strategy: parallel); give --shard I/N elsewhere"
            )
        text = f"{position}/{count}"
        origin = f"--shard auto ({AUTO_ENV[0]}={position[:20]!r}, {AUTO_ENV[1]}={count[:20]!r})"
    match = _SHARD.match(text)
    if match is None:
        raise InputError(f"{origin}: not I/N or auto; {fix}")
    index, total = int(match[1]), int(match[2])
    if not 1 <= total <= MAX_SHARDS:
        raise InputError(f"{origin}: N must be between 1 and {MAX_SHARDS}; {fix}")
    if not 1 <= index <= total:
        raise InputError(f"{origin}: I must be between 1 and N ({total}); {fix}")
    return ShardSpec(index, total)


@struct(frozen=True)
class BlobUnit:
    """One blob for one destination registry: the repositories there that need it,
    and the staging repository it is read from (``host/repository``)."""

    host: str
    blob: Descriptor
    repositories: tuple[str, ...]
    source: str


def promotes(image: ImagePlan) -> bool:
    """Whether ``apply`` writes this image (as its own ``_settled`` decides)."""
    if image.digest is None or not image.writes or image.conflicts:
        return False
    return not any(a.action == "blocked" for a in image.actions)


def copy_destinations(image: ImagePlan) -> list[str]:
    """The destinations (``host/repository``) that lack the image's content, in order."""
    return sorted({a.destination for a in image.writes if a.action == "copy"})


def endpoint(registries: Registries, name: str) -> TargetEndpoint:
    """The endpoint of ``host/repository``."""
    reference = parse_registry_reference(name)
    return TargetEndpoint(RepositoryTarget(registries.client(reference.registry), reference))


def image_blobs(image: ImagePlan, registries: Registries, pool: Executor) -> list[Descriptor]:
    """Every blob of the image's graph (configs, layers; an index's children too),
    read from staging by digest."""
    assert image.digest is not None
    source = endpoint(registries, image.source)
    top = source.get_manifest(image.digest)
    return list(content_of(source, top, pool).blobs)


#: Staging manifests read at once while a shard or ``--finish`` collects the plan's graphs.
GRAPH_READERS = 8


def promoted_graphs(
    plan: PromotionPlan, registries: Registries, pool: Executor
) -> Iterator[tuple[ImagePlan, list[str], list[Descriptor]]]:
    """Each image of the plan that needs content somewhere, with the destinations that need
    it and its graph's blobs, in the plan's order; the graphs are read ``GRAPH_READERS`` at
    a time (their own index children on ``pool``), so thousands of images are not read one
    round trip after another."""
    wanted = [(image, copy_destinations(image)) for image in plan.images if promotes(image)]
    wanted = [(image, destinations) for image, destinations in wanted if destinations]
    readers = ThreadPoolExecutor(GRAPH_READERS, thread_name_prefix="graphs")
    try:
        graphs = readers.map(lambda w: image_blobs(w[0], registries, pool), wanted)
        for (image, destinations), blobs in zip(wanted, graphs, strict=True):
            yield image, destinations, blobs
    finally:
        readers.shutdown(wait=True, cancel_futures=True)


def content_units(plan: PromotionPlan, registries: Registries, pool: Executor) -> list[BlobUnit]:
    """The plan's content work, one unit per destination registry and blob, in a fixed order."""
    found: dict[tuple[str, str], tuple[Descriptor, set[str], set[str]]] = {}
    for image, destinations, blobs in promoted_graphs(plan, registries, pool):
        for blob in blobs:
            for destination in destinations:
                reference = parse_registry_reference(destination)
                key = (reference.registry, blob.digest)
                entry = found.setdefault(key, (blob, set(), set()))
                entry[1].add(reference.repository)
                entry[2].add(image.source)
    return [
        BlobUnit(host, blob, tuple(sorted(repositories)), min(sources))
        for (host, _), (blob, repositories, sources) in sorted(found.items())
    ]


def assign_units(units: Iterable[BlobUnit], total: int) -> list[list[BlobUnit]]:
    """The units of each shard (index 0 is shard 1), balanced by bytes, deterministically."""
    shards: list[list[BlobUnit]] = [[] for _ in range(total)]
    loads = [0] * total
    for unit in sorted(units, key=lambda u: (-u.blob.size, u.host, u.blob.digest)):
        lightest = min(range(total), key=lambda k: (loads[k], k))
        shards[lightest].append(unit)
        loads[lightest] += unit.blob.size
    return shards


@struct
class ShardReport:
    """What one shard did: its share of the plan's units, and what became of each."""

    shard: ShardSpec
    blobs: int = 0
    bytes: int = 0
    plan_blobs: int = 0
    plan_bytes: int = 0
    uploaded: int = 0
    uploaded_bytes: int = 0
    mounted: int = 0
    present: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, what: str, size: int = 0) -> None:
        """One more blob placed in one repository: ``uploaded``, ``mounted`` or ``present``."""
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)
            if what == "uploaded":
                self.uploaded_bytes += size

    def to_dict(self) -> dict[str, object]:
        """The JSON form (``--output json``)."""
        return {
            "ok": True,
            "exitCode": 0,
            "shard": {"index": self.shard.index, "total": self.shard.total},
            "assigned": {"blobs": self.blobs, "bytes": self.bytes},
            "planTotal": {"blobs": self.plan_blobs, "bytes": self.plan_bytes},
            "uploaded": {"blobs": self.uploaded, "bytes": self.uploaded_bytes},
            "mounted": {"blobs": self.mounted},
            "present": {"blobs": self.present},
            "tagsWritten": 0,
            "seconds": round(self.seconds, 3),
        }


def _place(unit: BlobUnit, registries: Registries, outcome: ShardReport) -> None:
    """The unit's blob in each of its repositories: uploaded (or mounted from staging in
    the same registry) into the first, mounted into the others; what is there is kept."""
    source = endpoint(registries, unit.source)
    first, *others = unit.repositories
    home = endpoint(registries, f"{unit.host}/{first}")
    if home.has_blob(unit.blob):
        outcome.count("present")
    elif home.can_mount(source) and home.mount_blob(unit.blob, source):
        outcome.count("mounted")
    else:
        assert isinstance(source.target, RepositoryTarget)
        home.write_blob(unit.blob, source.target.blob_opener(unit.blob.digest))
        outcome.count("uploaded", unit.blob.size)
    for repository in others:
        there = endpoint(registries, f"{unit.host}/{repository}")
        if there.has_blob(unit.blob):
            outcome.count("present")
        elif there.mount_from(unit.blob, first):
            outcome.count("mounted")
        else:  # the registry declined the mount: the bytes go again
            there.write_blob(unit.blob, home.target.blob_opener(unit.blob.digest))
            outcome.count("uploaded", unit.blob.size)


def run_shard(
    plan: PromotionPlan, registries: Registries, shard: ShardSpec, jobs: int = 4
) -> ShardReport:
    """Upload shard ``shard``'s units of ``plan``; no manifest, tag or record is written.

    The first failure (or an interrupt) cancels the units not started yet: what
    is uploaded stays, and the shard run again skips it.
    """
    started = time.monotonic()
    outcome = ShardReport(shard)
    pool = ThreadPoolExecutor(max(2, jobs), thread_name_prefix="shard")
    try:
        units = content_units(plan, registries, pool)
        mine = assign_units(units, shard.total)[shard.index - 1]
        outcome.plan_blobs, outcome.plan_bytes = len(units), sum(u.blob.size for u in units)
        outcome.blobs, outcome.bytes = len(mine), sum(u.blob.size for u in mine)
        for _ in pool.map(lambda unit: _place(unit, registries, outcome), mine):
            pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    outcome.seconds = time.monotonic() - started
    return outcome


@struct(frozen=True)
class MissingBlob:
    """A blob a destination lacks."""

    image: str
    destination: str
    blob: Descriptor


class IncompleteContentError(RefusedError):
    """``--finish``: a destination lacks content the shards should have uploaded (exit 1)."""

    def __init__(self, missing: list[MissingBlob]) -> None:
        destinations = {m.destination for m in missing}
        lines = [
            f"  {m.image} -> {m.destination}: {m.blob.digest} ({m.blob.size} bytes)"
            for m in missing[:LISTED_MISSING]
        ]
        if len(missing) > LISTED_MISSING:
            lines.append(f"  ... and {len(missing) - LISTED_MISSING} more")
        super().__init__(
            f"the content is not complete: {len(missing)} blob(s) missing in "
            f"{len(destinations)} destination(s); no tag written",
            detail="missing:\n" + "\n".join(lines),
            hint="run every shard (a shard run again redoes its own work), then --finish again",
        )
        self.missing = missing


def missing_content(
    plan: PromotionPlan, registries: Registries, pool: Executor, homes: BlobHomes | None = None
) -> list[MissingBlob]:
    """Every blob of every promoted image that a destination needing content lacks,
    asked of the registries (HEAD), in the plan's order. What is there is told to
    ``homes``: the apply that follows need not ask again."""
    asked: list[tuple[str, str, Descriptor]] = []
    for image, destinations, blobs in promoted_graphs(plan, registries, pool):
        asked += [(image.image, d, b) for d in destinations for b in blobs]
    there = list(pool.map(lambda a: endpoint(registries, a[1]).has_blob(a[2]), asked))
    if homes is not None:
        for (_, destination, blob), found in zip(asked, there, strict=True):
            if found:
                reference = parse_registry_reference(destination)
                homes.found(reference.registry, reference.repository, blob.digest)
    return [MissingBlob(*a) for a, found in zip(asked, there, strict=True) if not found]


def require_complete(
    plan: PromotionPlan, registries: Registries, jobs: int = 8, homes: BlobHomes | None = None
) -> None:
    """Raise ``IncompleteContentError`` unless every destination holds every blob (and
    tell ``homes`` each blob found, so the apply that follows does not ask again)."""
    with ThreadPoolExecutor(max(2, jobs), thread_name_prefix="finish") as pool:
        missing = missing_content(plan, registries, pool, homes)
    if missing:
        raise IncompleteContentError(missing)
