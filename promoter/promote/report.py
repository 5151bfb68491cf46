"""What a promotion did, per image and destination: the account ``apply`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from promoter.errors import PromoterError

__all__ = ["DestinationResult", "ImageResult", "PromotionReport"]


@dataclass
class DestinationResult:
    """One destination repository of one image."""

    destination: str
    tags: list[str] = field(default_factory=list)
    copy: dict[str, Any] | None = None  # the copy engine's CopyResult.to_dict()
    record: str | None = None  # the promotion record's digest
    #: Signatures made here: the key's fingerprint, whether new, where attached.
    signatures: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "destination": self.destination,
            "tagsWritten": list(self.tags),
            "copy": self.copy,
            "record": self.record,
            "signatures": list(self.signatures),
        }


@dataclass
class ImageResult:
    """One image: promoted, up-to-date, conflict, blocked, skipped or failed."""

    image: str
    digest: str | None
    status: str
    message: str = ""
    destinations: list[DestinationResult] = field(default_factory=list)
    seconds: float = 0.0
    error: PromoterError | None = None

    def bytes_moved(self, kind: str = "copied") -> int:
        """Blob bytes streamed (``copied``) or mounted across every destination."""
        total = 0
        for destination in self.destinations:
            if destination.copy:
                total += int(destination.copy["bytes"][kind])
        return total

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "image": self.image,
            "digest": self.digest,
            "status": self.status,
            "message": self.message,
            "bytesCopied": self.bytes_moved("copied"),
            "bytesMounted": self.bytes_moved("mounted"),
            "seconds": round(self.seconds, 3),
            "destinations": [d.to_dict() for d in self.destinations],
            "error": self.error.to_dict() if self.error else None,
        }


@dataclass
class PromotionReport:
    """Every image's outcome."""

    images: list[ImageResult] = field(default_factory=list)
    seconds: float = 0.0

    def with_status(self, status: str) -> list[ImageResult]:
        """The images that ended with ``status``."""
        return [image for image in self.images if image.status == status]

    @property
    def failed(self) -> list[ImageResult]:
        """Images whose promotion failed (exit 3)."""
        return self.with_status("failed")

    @property
    def refused(self) -> list[ImageResult]:
        """Images refused by a conflict or by policy (exit 1)."""
        return self.with_status("conflict") + self.with_status("blocked")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "ok": not self.failed and not self.refused,
            "seconds": round(self.seconds, 3),
            "bytesCopied": sum(i.bytes_moved("copied") for i in self.images),
            "bytesMounted": sum(i.bytes_moved("mounted") for i in self.images),
            "images": [i.to_dict() for i in self.images],
        }
