"""The adapter of a CI service, by name: apart from ``promoter.ci.adapter``, whose base
class ``github`` and ``azure`` import (so each module imports the others at the top)."""

from __future__ import annotations

from collections.abc import Mapping

from promoter.ci.adapter import CiAdapter
from promoter.ci.azure import AzureDevOpsAdapter
from promoter.ci.boundary import Boundary
from promoter.ci.github import GitHubAdapter
from promoter.ci.service import AZURE_DEVOPS, GITHUB

__all__ = ["adapter_for"]


def adapter_for(
    service: str, env: Mapping[str, str], boundary: Boundary | None = None
) -> CiAdapter | None:
    """The adapter of ``service`` (None for ``none``), writing its commands through
    ``boundary``."""
    if service == GITHUB:
        return GitHubAdapter(env, boundary=boundary)
    if service == AZURE_DEVOPS:
        return AzureDevOpsAdapter(env, boundary=boundary)
    return None
