"""The build stage: kaniko through the Docker SDK, or as a subprocess inside a kaniko image.

``build_image(spec)`` runs one :class:`BuildSpec` and returns a :class:`BuildResult`
(the digest kaniko wrote, the docker-archive tarball). Nothing here imports
``docker`` at import time; :mod:`promoter.build.docker_engine` is the one module
that uses it.
"""

from __future__ import annotations

from promoter.build.credentials import RegistryCredential, registry_host, required_registries
from promoter.build.failure import KanikoFailed
from promoter.build.result import BuildResult
from promoter.build.runner import build_image, choose_mode
from promoter.build.spec import (
    DEFAULT_EXECUTOR_IMAGE,
    BuildSpec,
    CacheSettings,
    ExecutorSettings,
)

__all__ = [
    "DEFAULT_EXECUTOR_IMAGE",
    "BuildResult",
    "BuildSpec",
    "CacheSettings",
    "ExecutorSettings",
    "KanikoFailed",
    "RegistryCredential",
    "build_image",
    "choose_mode",
    "registry_host",
    "required_registries",
]
