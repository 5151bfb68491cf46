"""Descriptors (media type, digest, size) and platforms, as in the OCI image spec."""

from __future__ import annotations

from collections.abc import Mapping

from promoter.errors import InputError
from promoter.structs import field, struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Descriptor", "Platform"]


@struct(frozen=True)
class Platform:
    """An image's platform: ``linux/arm64/v8``."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch[/variant]``."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InputError(f"invalid platform {text!r}", hint="expected os/arch[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Platform:
        """From the ``platform`` object of a descriptor or an image config."""
        return cls(
            os=str(data.get("os", "")),
            architecture=str(data.get("architecture", "")),
            variant=data.get("variant") or None,
            os_version=data.get("os.version") or None,
            os_features=tuple(data.get("os.features") or ()),
        )

    def to_dict(self) -> dict[str, object]:
        """The OCI JSON form."""
        out: dict[str, object] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        return out

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@struct(frozen=True)
class Descriptor:
    """A pointer to content: what it is, its digest and its size."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    urls: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Descriptor:
        """Parse a descriptor object; ``InputError`` when a required field is missing."""
        try:
            media_type = str(data["mediaType"])
            digest = str(data["digest"])
            size = int(data["size"])
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"invalid descriptor {dict(data)!r}: {error}") from None
        platform = data.get("platform")
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            platform=Platform.from_dict(platform) if isinstance(platform, Mapping) else None,
            annotations=dict(data.get("annotations") or {}),
            artifact_type=data.get("artifactType"),
            urls=tuple(data.get("urls") or ()),
        )

    def to_dict(self) -> dict[str, object]:
        """The OCI JSON form (for documents we write: OCI layout index.json)."""
        out: dict[str, object] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_dict()
        return out
