"""Carrying out a promotion plan: content everywhere, verified, then tags, then records.

Per image:

1. An image with a ``conflict`` on any destination writes nothing anywhere;
   a ``blocked`` image (policy failed) writes nothing.
2. The checked digest is copied (content only, by digest, referrers along)
   to every destination that needs a write, in parallel: mounted within a
   registry, streamed across registries.
3. Each destination is verified to hold the whole graph.
4. Where a rule signs, the digest is signed in each destination (cosign's
   ``.sig`` tag and a referrer), unless this key's signature is there.
5. Only then are the tags written, across all destinations.
6. A promotion record is attached to the digest in each destination.

Images run in parallel; the registry client bounds requests per registry.
Before anything is written, :func:`check_freshness` re-reads what the plan
assumed (``StalePlanError`` when the world moved).

Interrupts (``ApplyOptions.stop``, the run's request, set by the CLI on SIGINT or SIGTERM): the tag phase
is the commit point. An image interrupted before it writes no tag and no
record (its copy stops at the next blob event); an image already in it
finishes its tags and records. Images not started yet do not start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from promoter.errors import InputError, PromoterError, RegistryError
from promoter.oci import Descriptor
from promoter.oci.raw import RawManifest
from promoter.oci.reference import parse_registry_reference
from promoter.promote.freshness import check_freshness
from promoter.promote.options import ApplyOptions, endpoint_for
from promoter.promote.plan import ImagePlan, PromotionPlan
from promoter.promote.report import (
    DestinationResult,
    ImageResult,
    PromotionReport,
    SignatureMade,
)
from promoter.promote.rollback import apply_rollback
from promoter.promote.sign import sign_destination, signing_key_for
from promoter.promote.source import SharedSource
from promoter.promote.stopping import Stopped, StopRequest, WatchingListener
from promoter.promote.tagphase import moved_immutable, tag_and_record
from promoter.promote.verify import content_of, verify_content
from promoter.registry.access.retry import RetryPolicy
from promoter.registry.remote.pool import Registries
from promoter.signing.attach import Attached
from promoter.structs import replace, struct
from promoter.transfer import BlobHomes, CopyOptions, copy_content
from promoter.transfer.endpoints import TargetEndpoint

__all__ = [
    "ApplyOptions",
    "apply_plan",
    "check_provenance",
    "endpoint_for",
    "plan_homes",
    "promote_image",
]

T = TypeVar("T")

#: Runs of one image's promotion when a concurrent writer of the same content
#: makes the registry refuse a write (see ``_lost_a_race``).
RACE_ATTEMPTS = 3
#: The backoff between those runs; bounded in runs, not time (a run may take minutes).
RACE_RETRIES = RetryPolicy(
    max_attempts=RACE_ATTEMPTS, base_delay=0.2, max_delay=1.0, total_time=math.inf
)


def apply_plan(
    plan: PromotionPlan, registries: Registries, options: ApplyOptions | None = None
) -> PromotionReport:
    """Apply ``plan``: refuse a stale plan, then promote every image (in parallel)."""
    options = options or ApplyOptions()
    if plan.kind == "rollback":
        return apply_rollback(plan, registries, options)
    started = time.monotonic()
    check_provenance(plan)
    if options.homes is None:
        options = replace(options, homes=plan_homes(plan))
    workers = max(1, min(options.images, len(plan.images) or 1))
    with ThreadPoolExecutor(max(workers, 8), thread_name_prefix="promote") as pool:
        if options.check_fresh:
            check_freshness(plan, registries, pool)
        options.stop.applying = True
        try:
            outcomes = list(
                pool.map(lambda image: promote_image(image, plan, registries, options), plan.images)
            )
        finally:
            options.stop.applying = False
    return PromotionReport(outcomes, time.monotonic() - started)


def plan_homes(plan: PromotionPlan) -> BlobHomes:
    """Blob homes for one apply, knowing every destination repository of the plan
    (its images' earlier promotions left their blobs there: mounted, not uploaded)."""
    homes = BlobHomes()
    for image in plan.images:
        for action in image.actions:
            reference = parse_registry_reference(action.destination)
            homes.know(reference.registry, [reference.repository])
    return homes


def check_provenance(plan: PromotionPlan) -> None:
    """Refuse (``InputError``, exit 2) a plan whose writes cannot be trusted as written.

    An image that writes with no digest (not built when the plan was made) is
    refused; and an image's checks, when it has any, must have been made on the
    very digest it promotes, so that a promotion record never states a check
    made on another digest. (A plan *file* is checked against its pipeline file
    first: ``promoter.pipeline.binding``.)
    """
    pending = [i.image for i in plan.images if i.digest is None and i.writes]
    if pending:
        raise InputError(
            f"the plan does not know the digest of {', '.join(pending)} (not built yet)",
            hint="build and push to staging first, then plan again",
        )
    for image in plan.images:
        checked = (image.policy or {}).get("digest")
        if image.writes and image.policy is not None and checked != image.digest:
            raise InputError(
                f"{image.image}: the plan's checks were made on {checked}, "
                f"not on the digest it promotes ({image.digest})",
                hint="plan again: checks and promotion must name one digest",
            )


def _settled(image: ImagePlan) -> ImageResult | None:
    """The outcome of an image that writes nothing, or None when it has work."""
    if image.conflicts:
        where = ", ".join(f"{a.destination}:{a.tag}" for a in image.conflicts)
        return ImageResult(
            image.image,
            image.digest,
            "conflict",
            f"immutable tag(s) at another digest: {where}; no tag written on any destination",
        )
    if any(a.action == "blocked" for a in image.actions):
        return ImageResult(image.image, image.digest, "blocked", "policy checks failed")
    if not image.writes and not image.to_sign:
        live = [a for a in image.actions if a.action != "skipped"]
        status = "up-to-date" if live else "skipped"
        message = "every tag already names the digest" if live else "no rule applies to this run"
        return ImageResult(image.image, image.digest, status, message)
    return None


def promote_image(
    image: ImagePlan, plan: PromotionPlan, registries: Registries, options: ApplyOptions
) -> ImageResult:
    """Promote one image as planned; failures become a ``failed`` outcome, never half tags."""
    settled = _settled(image)
    if settled is not None:
        return settled
    started = time.monotonic()
    outcome = ImageResult(image.image, image.digest, "promoted")
    attempts = RACE_RETRIES.start()
    while True:
        try:
            options.stop.check()
            _promote(image, plan, registries, options, outcome)
            break
        except Stopped:
            outcome.status = "interrupted"
            outcome.message = "interrupted before the tag phase: no tag and no record written"
            break
        except RegistryError as error:
            if _lost_a_race(error) and attempts.another():
                continue
            outcome.status, outcome.message, outcome.error = "failed", error.message, error
            break
        except PromoterError as error:
            outcome.status, outcome.message, outcome.error = "failed", error.message, error
            break
    outcome.seconds = time.monotonic() - started
    return outcome


def _lost_a_race(error: RegistryError) -> bool:
    """distribution answers 400 DIGEST_INVALID when two writers store the same content
    at the same moment (another promotion of this image): every step is idempotent,
    so the image's promotion runs again and finds the content in place."""
    return error.status == 400 and error.code == "DIGEST_INVALID"


@struct
class _Run:
    """One run of one image's promotion: its source, destinations and thread pools."""

    image: ImagePlan
    digest: str
    source: SharedSource
    targets: dict[str, TargetEndpoint]
    per_destination: ThreadPoolExecutor
    reads: ThreadPoolExecutor
    stop: StopRequest

    def each(self, work: Callable[[str], T]) -> list[T]:
        """``work`` for every destination, in parallel; the results in order."""
        return list(self.per_destination.map(work, self.targets))


def _promote(
    image: ImagePlan,
    plan: PromotionPlan,
    registries: Registries,
    options: ApplyOptions,
    outcome: ImageResult,
) -> None:
    assert image.digest is not None
    if not image.writes:  # every tag is in place; only signatures to make
        _sign_only(image, registries, outcome)
        return
    names = list(dict.fromkeys(a.destination for a in image.writes))
    source = SharedSource(endpoint_for(registries, image.source), readers=len(names))
    targets = {name: endpoint_for(registries, name) for name in names}
    # One pool per image for blobs and checks, shared by its destinations: only
    # the destination threads wait on it, never its own workers.
    width = max(8, options.jobs * len(names))
    with (
        ThreadPoolExecutor(max(2, len(names)), thread_name_prefix="dest") as per_destination,
        ThreadPoolExecutor(width, thread_name_prefix="blob") as reads,
    ):
        run = _Run(image, image.digest, source, targets, per_destination, reads, options.stop)
        top = source.get_manifest(run.digest)
        results = _copy_and_verify(run, top, options)
        # a last look: an immutable tag another promotion wrote meanwhile is a conflict
        moved = moved_immutable(image, targets, reads)
        if moved:
            outcome.status = "conflict"
            outcome.message = (
                f"immutable tag(s) written meanwhile at another digest: {', '.join(moved)}; "
                "no tag written on any destination"
            )
            outcome.destinations = list(results.values())
            return
        _sign(run, top, results, registries)
        options.stop.enter_tag_phase(image.image)
        try:
            tag_and_record(run.per_destination, image, targets, top, results, plan, options)
        finally:
            options.stop.leave_tag_phase(image.image)
    outcome.destinations = [results[name] for name in names]
    outcome.message = f"{sum(len(r.tags) for r in results.values())} tag(s) written"
    if options.stop.requested:
        outcome.message += " (interrupted during the tag phase: the tag phase was finished)"


def _copy_and_verify(
    run: _Run, top: RawManifest, options: ApplyOptions
) -> dict[str, DestinationResult]:
    """Steps 1 and 2: the content (and referrers) to every destination, by digest and
    without tags; then every destination holds the whole graph."""
    # The plan asked each destination for the digest moments ago: "copy" means
    # it was missing, "tag" that it was there (a re-check would cost a HEAD each).
    present = {a.destination: a.action == "tag" for a in run.image.writes}
    copy_options = CopyOptions(jobs=options.jobs, referrers=True, homes=options.homes)
    copies = run.each(
        lambda n: copy_content(
            run.source,
            run.digest,
            run.targets[n],
            [],
            copy_options,
            WatchingListener(options.stop, options.listener),
            pool=run.reads,
            present=present[n],
        )
    )
    # What a destination confirmed during the copy counts; the rest is asked.
    content = content_of(run.source, top, run.reads)
    confirmed = dict(zip(run.targets, (c.confirmed for c in copies), strict=True))
    run.each(lambda n: verify_content(run.targets[n], content, run.reads, confirmed[n]))
    return {
        name: DestinationResult(name, copy=c) for name, c in zip(run.targets, copies, strict=True)
    }


def _sign(
    run: _Run,
    top: RawManifest,
    results: dict[str, DestinationResult],
    registries: Registries,
) -> None:
    """Step 4: sign the digest in each destination a rule signs in (before any tag)."""
    subject = Descriptor(top.media_type, top.digest, len(top.raw))
    signs = run.image.to_sign
    keys = [signing_key_for(action) for action in signs]  # exit 2 before any signature

    def sign(index: int) -> None:
        action = signs[index]
        run.stop.check()
        attached = sign_destination(registries, action, subject, keys[index])
        outcome = results.get(action.destination)
        if outcome is not None:
            outcome.signatures.append(_signature_made(action.fingerprint, attached))

    list(run.per_destination.map(sign, range(len(signs))))


def _signature_made(fingerprint: str, attached: Attached | None) -> SignatureMade:
    if attached is None:
        return SignatureMade(fingerprint)
    return SignatureMade(fingerprint, attached.tag, attached.referrer)


def _sign_only(image: ImagePlan, registries: Registries, outcome: ImageResult) -> None:
    """Every tag already names the digest: sign it where a signature is missing."""
    assert image.digest is not None
    results: dict[str, DestinationResult] = {}
    for action in image.to_sign:
        key = signing_key_for(action)
        reference = parse_registry_reference(action.destination)
        found = registries.client(reference.registry).head_manifest(
            reference.with_digest(image.digest)
        )
        if found is None:
            raise InputError(f"{action.destination}@{image.digest}: not there to be signed")
        attached = sign_destination(registries, action, found, key)
        result = results.setdefault(action.destination, DestinationResult(action.destination))
        result.signatures.append(_signature_made(action.fingerprint, attached))
    outcome.destinations = list(results.values())
    outcome.message = f"{len(image.to_sign)} signature(s) made; every tag already in place"
