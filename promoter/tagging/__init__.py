"""Tags and OCI labels from the git context, with docker/metadata-action's semantics.

The engine (:func:`compute_metadata`) is pure: rule, flavor, image, label and
annotation lines, a :class:`GitContext`, a :class:`RepositoryInfo` and a
clock in; version, tags, labels and annotations out. The context comes from
GitHub Actions, Azure DevOps or a local checkout (:func:`detect_context`).
"""

from __future__ import annotations

from promoter.tagging.azure import azure_context, azure_repository
from promoter.tagging.context import GitContext, RepositoryInfo
from promoter.tagging.detect import detect_context
from promoter.tagging.engine import Metadata, TagInputs, Version, compute_metadata, sanitize_tag
from promoter.tagging.expand import expand_template
from promoter.tagging.flavor import Flavor, parse_flavor
from promoter.tagging.github import github_context, github_repository
from promoter.tagging.images import ImageName, parse_images
from promoter.tagging.localgit import local_context
from promoter.tagging.remotes import public_url
from promoter.tagging.rules import TagRule, parse_rule, parse_rules

__all__ = [
    "Flavor",
    "GitContext",
    "ImageName",
    "Metadata",
    "RepositoryInfo",
    "TagInputs",
    "TagRule",
    "Version",
    "azure_context",
    "azure_repository",
    "compute_metadata",
    "detect_context",
    "expand_template",
    "github_context",
    "github_repository",
    "local_context",
    "parse_flavor",
    "parse_images",
    "parse_rule",
    "parse_rules",
    "public_url",
    "sanitize_tag",
]
