"""Which CI service this process runs on, by one rule used everywhere.

``--ci github|azure-devops|none`` (the CLI puts it in ``PROMOTER_CI``) wins;
then ``PROMOTER_CI``; then ``GITHUB_ACTIONS=true`` (GitHub Actions) and
``TF_BUILD=True`` (Azure DevOps, any case), as the services set them.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["AZURE_DEVOPS", "ENV_CI", "GITHUB", "NONE", "SERVICES", "detect_service"]

GITHUB = "github"
AZURE_DEVOPS = "azure-devops"
NONE = "none"
SERVICES = (GITHUB, AZURE_DEVOPS, NONE)

#: The variable that overrides detection (and carries ``--ci`` to every layer).
ENV_CI = "PROMOTER_CI"


def detect_service(env: Mapping[str, str]) -> str:
    """``github``, ``azure-devops`` or ``none`` for the environment ``env``.

    An unknown ``PROMOTER_CI`` value raises ``ValueError`` naming the choices;
    the CLI checks it before anything else runs.
    """
    chosen = env.get(ENV_CI, "").strip().lower()
    if chosen:
        if chosen not in SERVICES:
            raise ValueError(f"{ENV_CI}={chosen!r}: choose one of {', '.join(SERVICES)}")
        return chosen
    if env.get("GITHUB_ACTIONS", "").lower() == "true":
        return GITHUB
    if env.get("TF_BUILD", "").lower() == "true":
        return AZURE_DEVOPS
    return NONE
