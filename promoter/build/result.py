"""What a finished build produced: the tarball, the digest, the platform."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from promoter.build.arguments import DIGEST_FILE_NAME, TARBALL_NAME
from promoter.errors import BuildError
from promoter.structs import struct

__all__ = ["BuildResult", "ExecutionMode", "read_digest", "tarball_path"]

ExecutionMode = Literal["docker", "subprocess"]

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@struct(frozen=True)
class BuildResult:
    """One finished build.

    ``digest`` is the image manifest's digest as kaniko wrote it (``--digest-file``):
    with ``push="promoter"`` the digest the tarball has once pushed; with
    ``push="kaniko"`` the digest kaniko pushed to ``pushed_to``. ``tarball`` is
    the docker-archive kaniko wrote (None when kaniko pushed itself).
    """

    name: str
    digest: str
    platform: str | None
    tarball: Path | None
    output_dir: Path
    mode: ExecutionMode
    seconds: float
    pushed_to: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable form for reports."""
        return {
            "image": self.name,
            "digest": self.digest,
            "platform": self.platform,
            "tarball": str(self.tarball) if self.tarball else None,
            "mode": self.mode,
            "seconds": round(self.seconds, 3),
            "pushedTo": list(self.pushed_to),
        }


def read_digest(output_dir: Path, name: str) -> str:
    """The ``sha256:<hex>`` kaniko wrote with ``--digest-file`` (no trailing newline)."""
    path = output_dir / DIGEST_FILE_NAME
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as error:
        raise BuildError(
            f"kaniko finished the build of {name} but wrote no digest file ({path}): {error.strerror}"
        ) from error
    digest = text.strip()
    if not _DIGEST.fullmatch(digest):
        raise BuildError(
            f"kaniko's digest file for {name} does not hold sha256:<hex>: {text[:80]!r}"
        )
    return digest


def tarball_path(output_dir: Path, name: str) -> Path:
    """The tarball kaniko wrote with ``--tar-path``, checked to exist."""
    path = output_dir / TARBALL_NAME
    if not path.is_file():
        raise BuildError(f"kaniko finished the build of {name} but wrote no tarball ({path})")
    return path
