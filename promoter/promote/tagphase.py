"""The tag phase of a promotion or a rollback: the tags across all destinations at once,
then a record in each. It starts only after every destination holds the whole content,
and once started it finishes (see ``promote.stopping``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from promoter.oci import Descriptor
from promoter.oci.raw import RawManifest
from promoter.promote.plan import ImagePlan, PromotionPlan, TagAction
from promoter.promote.record import record_document
from promoter.promote.report import DestinationResult
from promoter.transfer.endpoints import TargetEndpoint

if TYPE_CHECKING:
    from promoter.promote.options import ApplyOptions

__all__ = ["moved_immutable", "tag_and_record", "write_tags"]


def write_tags(
    pool: Executor,
    targets: Mapping[str, TargetEndpoint],
    top: RawManifest,
    writes: Sequence[TagAction],
    results: Mapping[str, DestinationResult],
) -> None:
    """Write ``writes`` (each a destination and a tag) as ``top``: all destinations at
    once, one thread each, after every destination holds the content. The one tag
    writer of promotions and rollbacks."""

    def tag(name: str) -> None:
        for action in writes:
            if action.destination == name:
                targets[name].put_manifest(top, action.tag, root=False)
                results[name].tags.append(action.tag)

    list(pool.map(tag, targets))


def tag_and_record(
    pool: Executor,
    image: ImagePlan,
    targets: Mapping[str, TargetEndpoint],
    top: RawManifest,
    results: dict[str, DestinationResult],
    plan: PromotionPlan,
    options: ApplyOptions,
) -> None:
    """The tags across all destinations, then a record in each (the tag phase)."""
    write_tags(pool, targets, top, image.writes, results)
    moment = (options.now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    subject = Descriptor(top.media_type, top.digest, len(top.raw))

    def record(name: str) -> None:
        document = record_document(image, plan, name, results[name].tags, moment, options.version)
        results[name].record = options.records.push(targets[name], subject, document, moment)

    list(pool.map(record, targets))


def moved_immutable(
    image: ImagePlan, targets: Mapping[str, TargetEndpoint], pool: ThreadPoolExecutor
) -> list[str]:
    """Immutable tags about to be written that now name another digest."""
    immutable = [a for a in image.writes if not a.mutable]
    now = pool.map(lambda a: targets[a.destination].resolve(a.tag), immutable)
    return [
        f"{a.destination}:{a.tag}"
        for a, there in zip(immutable, now, strict=True)
        if there is not None and there != image.digest
    ]
