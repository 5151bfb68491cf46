"""The promote stage: plan and apply the promotion of checked digests to production.

``plan_actions`` classifies each destination tag (copy, tag, noop, conflict,
blocked, skipped) with reads only (``survey`` first tells each host the plan's
destination repositories, for its catalog); ``apply_plan`` refuses a stale plan, then
per image copies the content to every destination, verifies it, writes the
tags and attaches a promotion record (an OCI referrer).
"""

from __future__ import annotations

from promoter.promote.apply import ApplyOptions, apply_plan, promote_image
from promoter.promote.classify import TagTarget, block, classify, plan_actions, survey
from promoter.promote.freshness import StalePlanError, check_freshness
from promoter.promote.plan import (
    ACTIONS,
    PLAN_FORMAT,
    ImagePlan,
    PromotionPlan,
    TagAction,
    load_plan,
)
from promoter.promote.record import PROMOTION_ARTIFACT_TYPE
from promoter.promote.report import DestinationResult, ImageResult, PromotionReport
from promoter.promote.when import when_applies

__all__ = [
    "ACTIONS",
    "PLAN_FORMAT",
    "PROMOTION_ARTIFACT_TYPE",
    "ApplyOptions",
    "DestinationResult",
    "ImagePlan",
    "ImageResult",
    "PromotionPlan",
    "PromotionReport",
    "StalePlanError",
    "TagAction",
    "TagTarget",
    "apply_plan",
    "block",
    "check_freshness",
    "classify",
    "load_plan",
    "plan_actions",
    "promote_image",
    "survey",
    "when_applies",
]
