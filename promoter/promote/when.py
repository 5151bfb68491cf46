"""A promote rule's ``when``: ``tag`` (a git tag event), ``always``, ``branch:<glob>``."""

from __future__ import annotations

from fnmatch import fnmatchcase

from promoter.config import When

__all__ = ["when_applies"]


def when_applies(when: When, *, branch: str, tag: str) -> bool:
    """Whether a rule applies to a run on ``branch`` or git ``tag`` (empty when not one)."""
    if when.kind == "always":
        return True
    if when.kind == "tag":
        return bool(tag)
    if when.kind == "branch":
        return bool(branch) and fnmatchcase(branch, when.pattern or "*")
    return False
