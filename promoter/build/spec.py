"""What one kaniko build needs, independent of the pipeline.yml model.

The pipeline layer maps ``images.<name>.build`` onto a :class:`BuildSpec`; the
runner turns a spec into kaniko's command line. A spec holds no secret: the
credentials a build needs are looked up when it runs (see
:mod:`promoter.build.credentials`).

The executor image
------------------
Google archived ``GoogleContainerTools/kaniko`` (read-only since June 2025).
The default stays the last upstream release, pinned by digest, so a build is
reproducible and a moved tag cannot change it. Maintained forks, any of which
``build.executor.image`` may name (the wrapper needs only kaniko's command
line, which they keep):

* ``chainguard-forks/kaniko`` (Chainguard), image ``cgr.dev/chainguard/kaniko``
  (``:latest-debug`` for a shell); may need a Chainguard account;
* ``osscontainertools/kaniko`` (community), images
  ``ghcr.io/osscontainertools/kaniko:<version>`` and ``:<version>-debug``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from promoter.structs import field, struct

__all__ = [
    "DEFAULT_EXECUTOR_IMAGE",
    "DEFAULT_TIMEOUT",
    "BuildSpec",
    "CacheSettings",
    "ExecutorSettings",
    "PushMode",
]

#: kaniko v1.23.2 (the last upstream release), debug flavour, pinned by digest.
DEFAULT_EXECUTOR_IMAGE = (
    "gcr.io/kaniko-project/executor:v1.23.2-debug"
    "@sha256:c3109d5926a997b100c4343944e06c6b30a6804b2f9abe0994d3de6ef92b028e"
)

#: How long one build may run, in seconds, unless ``build.executor.timeout`` says.
DEFAULT_TIMEOUT = 3600.0

#: ``promoter``: kaniko writes a tarball and promoter pushes it (credentials stay
#: outside the container); ``kaniko``: kaniko pushes itself (needed for --cache-repo).
PushMode = Literal["promoter", "kaniko"]


@struct(frozen=True)
class ExecutorSettings:
    """Which kaniko executor image runs the build, and for how long at most."""

    image: str = DEFAULT_EXECUTOR_IMAGE
    timeout: float = DEFAULT_TIMEOUT


@struct(frozen=True)
class CacheSettings:
    """kaniko's layer cache: ``--cache --cache-repo REPO [--cache-ttl TTL]``."""

    repo: str
    ttl: str | None = None


def _frozen(pairs: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(pairs))


@struct(frozen=True)
class BuildSpec:
    """One image build.

    ``context`` is a directory on this machine; ``dockerfile`` is relative to it
    (or absolute). ``destinations`` are the staging references: the first names
    the tarball's image, and with ``push="kaniko"`` kaniko pushes to all of them.
    ``insecure_registries`` are hosts (``host[:port]``) reached over plain HTTP or
    without TLS verification, for base images, the cache and kaniko's push.
    """

    context: Path
    dockerfile: str = "Dockerfile"
    destinations: tuple[str, ...] = ()
    name: str = "image"
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    #: Build arguments whose values are secrets: kaniko gets ``--build-arg NAME`` and the
    #: value in its environment (its own from-the-environment form), never on a command line.
    secret_build_args: Mapping[str, str] = field(default_factory=dict, repr=False)
    labels: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    reproducible: bool = True
    cache: CacheSettings | None = None
    insecure_registries: tuple[str, ...] = ()
    push: PushMode = "promoter"

    def __post_init__(self) -> None:
        # Frozen means frozen: copies of the mappings nobody can change later.
        object.__setattr__(self, "context", Path(self.context))
        object.__setattr__(self, "build_args", _frozen(self.build_args))
        object.__setattr__(self, "secret_build_args", _frozen(self.secret_build_args))
        object.__setattr__(self, "labels", _frozen(self.labels))
        object.__setattr__(self, "destinations", tuple(self.destinations))
        object.__setattr__(self, "insecure_registries", tuple(self.insecure_registries))

    @property
    def dockerfile_path(self) -> Path:
        """The Dockerfile on this machine."""
        path = Path(self.dockerfile)
        return path if path.is_absolute() else self.context / path

    @property
    def tarball_name(self) -> str:
        """The name kaniko gives the image in the tarball (it insists on one)."""
        return self.destinations[0] if self.destinations else "promoter.invalid/build:latest"
