"""Pushing a kaniko tarball to the staging repository with promoter's own registry client.

The copy engine reads the tarball as ``docker-archive:PATH`` and copies it to
``staging-repo@sha256:...`` (content by digest, tags untouched), then writes
the staging tags, each a manifest PUT of content already there. Registry
credentials never enter the build container this way.

The digest recorded is the one the registry holds. kaniko's digest file
normally names the same manifest; when they differ (an executor writing OCI
media types, say) both are reported and the registry's wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from promoter.build.credentials import CredentialLookup, lookup_from_provider
from promoter.build.index import create_index
from promoter.build.report import PushedImage
from promoter.build.result import BuildResult
from promoter.build.spec import BuildSpec
from promoter.errors import BuildError
from promoter.oci import Reference, parse_reference
from promoter.registry.remote.client import default_credentials
from promoter.transfer import CopyOptions, TransferSession, copy_content

if TYPE_CHECKING:
    from promoter.registry.access.options import RegistryOptions

__all__ = ["StagingPusher", "build_credentials"]


class StagingPusher:
    """Pushes builds to staging through one transfer session (connections reused).

    The session's blob homes are shared by every push of the run: a base layer
    several images share crosses to the staging registry once and is mounted
    into the other repositories. ``known`` are ``(host, repository)`` pairs
    (the pipeline's staging repositories) where earlier runs' blobs may be
    mounted from.
    """

    def __init__(
        self,
        registry_options: RegistryOptions | None = None,
        known: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._session = TransferSession(registry_options)
        for host, repository in known:
            self._session.homes.know(host, [repository])

    def __enter__(self) -> StagingPusher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every registry connection the session opened."""
        self._session.close()

    def __call__(self, spec: BuildSpec, result: BuildResult) -> PushedImage:
        """Push ``result``'s tarball to the repository of ``spec.destinations``, then tag it."""
        if result.tarball is None or not spec.destinations:
            raise BuildError(f"{spec.name}: there is no tarball or no staging destination to push")
        targets = [parse_reference(d) for d in spec.destinations]
        if not all(isinstance(t, Reference) for t in targets):
            raise BuildError(f"{spec.name}: staging destinations must be registry references")
        references = [t for t in targets if isinstance(t, Reference)]
        archive = f"docker-archive:{result.tarball}"
        source, digest = self._session.source(parse_reference(archive))
        # One copy per repository with all of its tags: the graph is checked and
        # the blobs sent once, then each tag is one manifest PUT.
        by_repository: dict[str, list[str]] = {}
        for reference in references:
            tags_here = by_repository.setdefault(reference.with_digest(digest).name, [])
            if reference.tag and reference.tag not in tags_here:
                tags_here.append(reference.tag)
        for name, tags_here in by_repository.items():
            destination, _ = self._session.destination(parse_reference(f"{name}@{digest}"))
            copy_content(
                source, digest, destination, tags_here, CopyOptions(homes=self._session.homes)
            )
        repository = references[0].with_digest(digest).name
        tags = tuple(dict.fromkeys(r.tag for r in references if r.tag))
        return PushedImage(reference=f"{repository}@{digest}", digest=digest, tags=tags)

    def stitch(self, repository: str, sources: Sequence[str], tags: Sequence[str]) -> PushedImage:
        """Join per-platform builds already in staging into one index under ``tags``."""
        if not tags:
            raise BuildError(
                f"{repository}: several platforms were built but no staging tag names their index",
                hint="give the image a tag rule (for example type=sha)",
            )
        result = create_index(
            f"{repository}:{tags[0]}", sources, tags=tags[1:], session=self._session
        )
        return PushedImage(
            reference=f"{repository}@{result.digest}", digest=result.digest, tags=tuple(tags)
        )


def build_credentials(options: RegistryOptions) -> CredentialLookup:
    """The build's credential lookup: the registry layer's (environment, Docker config, cloud)."""
    return lookup_from_provider(options.credentials or default_credentials(options))
