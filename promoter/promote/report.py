"""What a promotion did, per image and destination: the account ``apply`` returns."""

from __future__ import annotations

from typing import Literal

from promoter.errors import PromoterError
from promoter.structs import field, struct
from promoter.transfer.result import CopyResult

__all__ = ["DestinationResult", "ImageResult", "PromotionReport", "SignatureMade"]


@struct(frozen=True)
class SignatureMade:
    """A signature of the image in a destination: the key's fingerprint, and the tag and
    referrer manifests it was attached to (None: this key's signature was there already)."""

    fingerprint: str
    tag: str | None = None
    referrer: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON form: ``new`` is whether it was attached now."""
        entry: dict[str, object] = {"fingerprint": self.fingerprint, "new": self.tag is not None}
        if self.tag is not None:
            entry.update(tag=self.tag, referrer=self.referrer)
        return entry


@struct
class DestinationResult:
    """One destination repository of one image."""

    destination: str
    tags: list[str] = field(default_factory=list)
    copy: CopyResult | None = None  # what the copy engine did (None: nothing was copied)
    record: str | None = None  # the promotion record's digest
    #: Signatures made here.
    signatures: list[SignatureMade] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "destination": self.destination,
            "tagsWritten": list(self.tags),
            "copy": self.copy.to_dict() if self.copy is not None else None,
            "record": self.record,
            "signatures": [s.to_dict() for s in self.signatures],
        }


@struct
class ImageResult:
    """One image: promoted, up-to-date, conflict, blocked, skipped or failed."""

    image: str
    digest: str | None
    status: str
    message: str = ""
    destinations: list[DestinationResult] = field(default_factory=list)
    seconds: float = 0.0
    error: PromoterError | None = None

    def bytes_moved(self, kind: Literal["copied", "mounted"] = "copied") -> int:
        """Blob bytes streamed (``copied``) or mounted across every destination."""
        total = 0
        for destination in self.destinations:
            if destination.copy is not None:
                copy = destination.copy
                total += copy.bytes_copied if kind == "copied" else copy.bytes_mounted
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


@struct
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

    def bytes_moved(self, kind: Literal["copied", "mounted"] = "copied") -> int:
        """Blob bytes streamed (``copied``) or mounted, over every image."""
        return sum(image.bytes_moved(kind) for image in self.images)

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "ok": not self.failed and not self.refused,
            "seconds": round(self.seconds, 3),
            "bytesCopied": self.bytes_moved("copied"),
            "bytesMounted": self.bytes_moved("mounted"),
            "images": [i.to_dict() for i in self.images],
        }
