"""Before ``apply`` writes anything: is the world still as the plan saw it?

Every source digest must still be in staging (and its staging tag still name
it); every destination tag must still name what it named when planned, or
already the planned digest (another promotion of the same image got there
first: the end state is the same). Any other difference refuses the plan.
"""

from __future__ import annotations

from concurrent.futures import Executor

from promoter.errors import RefusedError
from promoter.oci.reference import parse_registry_reference
from promoter.promote.plan import ImagePlan, PromotionPlan
from promoter.registry.remote.pool import Registries

__all__ = ["StalePlanError", "check_freshness"]

_CHECKED = frozenset({"copy", "tag", "noop", "conflict"})


class StalePlanError(RefusedError):
    """The world moved since the plan was made; nothing was written."""


def _head(registries: Registries, text: str) -> str | None:
    reference = parse_registry_reference(text)
    found = registries.client(reference.registry).head_manifest(reference)
    return found.digest if found else None


def _expectations(image: ImagePlan) -> list[tuple[str, frozenset[str | None], str]]:
    """(reference, acceptable digests, what the plan assumed) for each read to repeat."""
    if image.digest is None or not image.writes:
        return []
    wanted: list[tuple[str, frozenset[str | None], str]] = [
        (f"{image.source}@{image.digest}", frozenset({image.digest}), image.digest)
    ]
    if image.staging_tag:
        wanted.append(
            (f"{image.source}:{image.staging_tag}", frozenset({image.digest}), image.digest)
        )
    for action in image.actions:
        if action.action in _CHECKED:
            wanted.append(
                (
                    f"{action.destination}:{action.tag}",
                    frozenset({action.current, image.digest}),
                    action.current or "nothing",
                )
            )
    return wanted


def check_freshness(plan: PromotionPlan, registries: Registries, pool: Executor) -> None:
    """Raise ``StalePlanError`` (exit 1) listing every change since the plan was made."""
    wanted = [w for image in plan.images for w in _expectations(image)]
    found = list(pool.map(lambda w: _head(registries, w[0]), wanted))
    changes = [
        f"{reference} now names {now or 'nothing'}, planned with {assumed}"
        for (reference, accepted, assumed), now in zip(wanted, found, strict=True)
        if now not in accepted
    ]
    if changes:
        raise StalePlanError(
            f"the plan is stale: {len(changes)} change(s) since it was made; nothing was written",
            detail="\n".join(f"  {c}" for c in changes),
            hint="make a new plan with 'promoter plan --out plan.json' and review it",
        )
