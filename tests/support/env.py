"""The environment the tests run promoter and git in: no CI service's variables.

The tests may themselves run on GitHub Actions or Azure Pipelines; promoter
reads those services' variables (``GITHUB_*``, ``TF_BUILD``, ``BUILD_*`` ...) to
find the commit, the tag and where to write outputs, so a test that does not
play a CI service starts from an environment without them. git gets a fixed
identity and no global or system configuration, so commits work on any machine.
"""

from __future__ import annotations

import os

__all__ = ["CI_NAMES", "CI_PREFIXES", "CLEAN_ENV", "GIT_IDENTITY", "clean_env"]

#: Prefixes of the variables GitHub Actions, Azure Pipelines and docker/metadata-action set.
CI_PREFIXES = ("GITHUB_", "RUNNER_", "BUILD_", "SYSTEM_", "AGENT_", "DOCKER_METADATA_")
#: Single variables that say "this is a CI run".
CI_NAMES = ("CI", "TF_BUILD")

#: A fixed git identity and no user or system git configuration.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any CI variable, with GIT_IDENTITY, then ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in CI_NAMES and not key.startswith(CI_PREFIXES)
    }
    env.update(GIT_IDENTITY)
    env.update(extra)
    return env


#: ``clean_env()`` as it was when the tests started (for callers that add to a copy).
CLEAN_ENV = clean_env()
