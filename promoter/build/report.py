"""What the build stage hands to the next ones: per image, its builds and its pushed index.

Typed all the way to the document: ``BuildReport.to_dict()`` is what
``promoter build --output json`` prints and the run report's ``build`` holds.
"""

from __future__ import annotations

from promoter.build.result import BuildResult
from promoter.structs import struct

__all__ = ["BuildReport", "ImageBuild", "PlatformBuild", "ProvenanceRecord", "PushedImage"]


@struct(frozen=True)
class PushedImage:
    """A build in the staging repository: ``repo@digest`` and the tags written."""

    reference: str
    digest: str
    tags: tuple[str, ...] = ()


@struct(frozen=True)
class ProvenanceRecord:
    """The SLSA provenance attached to an image's staging digests."""

    predicate_type: str
    subjects: tuple[str, ...]  # the digests it names and is attached to
    builder_id: str
    signed_by: str | None = None  # the key's fingerprint; None: unsigned
    unresolved: tuple[str, ...] = ()  # base images named without a digest

    def to_dict(self) -> dict[str, object]:
        """The ``provenance`` entry of an image in the document."""
        return {
            "predicateType": self.predicate_type,
            "subjects": list(self.subjects),
            "builderId": self.builder_id,
            "signed": self.signed_by is not None,
            "keyId": self.signed_by,
            "unresolvedBases": list(self.unresolved),
        }


@struct(frozen=True)
class PlatformBuild:
    """One build of an image (one platform), and where it went in staging, if anywhere."""

    result: BuildResult
    destinations: tuple[str, ...]
    pushed: PushedImage | None = None

    @property
    def digest(self) -> str:
        """The digest later stages use: the registry's once pushed, else kaniko's."""
        return self.pushed.digest if self.pushed is not None else self.result.digest

    def to_dict(self) -> dict[str, object]:
        """The build's entry in the document (``kanikoDigest`` only when the registry's differs)."""
        entry: dict[str, object] = self.result.to_dict()
        entry["destinations"] = list(self.destinations)
        if self.pushed is None:
            entry["staging"], entry["pushed"] = None, False
            return entry
        entry["staging"] = self.pushed.reference
        entry["stagingTags"] = list(self.pushed.tags)
        entry["pushed"] = True
        if self.pushed.digest != self.result.digest:
            entry["kanikoDigest"], entry["digest"] = self.result.digest, self.pushed.digest
        return entry


@struct(frozen=True)
class ImageBuild:
    """Every build of one pipeline image, and the index that joins its platforms."""

    image: str
    staging: str
    version: str
    tag_names: tuple[str, ...]
    builds: tuple[PlatformBuild, ...]
    index: PushedImage | None = None
    provenance: ProvenanceRecord | None = None

    @property
    def staged(self) -> PushedImage | None:
        """What this image is in staging: its index, or its one pushed build (else None)."""
        if self.index is not None:
            return self.index
        pushed = [b.pushed for b in self.builds if b.pushed is not None]
        return pushed[0] if len(pushed) == 1 else None

    def to_dict(self) -> dict[str, object]:
        """The image's entry in the document."""
        entry: dict[str, object] = {
            "image": self.image,
            "staging": self.staging,
            "version": self.version,
            "tags": [f"{self.staging}:{name}" for name in self.tag_names],
            "builds": [build.to_dict() for build in self.builds],
        }
        if self.index is not None:
            entry["index"] = {
                "staging": self.index.reference,
                "digest": self.index.digest,
                "stagingTags": list(self.index.tags),
            }
        if self.provenance is not None:
            entry["provenance"] = self.provenance.to_dict()
        return entry


@struct(frozen=True)
class BuildReport:
    """What the build stage did for the pipeline in ``file``."""

    file: str
    images: tuple[ImageBuild, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``promoter build --output json``."""
        return {"file": self.file, "images": [image.to_dict() for image in self.images]}
