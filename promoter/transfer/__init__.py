"""The transfer layer: digest-preserving copies of images, indexes and artifacts.

``copy_image(SRC, DST)`` copies one reference; a ``TransferSession`` copies
many while reusing connections and tokens. The engine (``copy_content``) works
on endpoint seams (``Source``, ``Destination``) that registries, OCI layouts
and docker archives implement. Progress is reported to a ``ProgressListener``.
"""

from __future__ import annotations

from promoter.transfer.endpoints import Destination, Source
from promoter.transfer.engine import CopyOptions, copy_content
from promoter.transfer.homes import BlobHomes
from promoter.transfer.progress import ProgressListener, SilentProgress
from promoter.transfer.result import CopyResult
from promoter.transfer.session import BatchReport, TransferSession, copy_image, copy_many

__all__ = [
    "BatchReport",
    "BlobHomes",
    "CopyOptions",
    "CopyResult",
    "Destination",
    "ProgressListener",
    "SilentProgress",
    "Source",
    "TransferSession",
    "copy_content",
    "copy_image",
    "copy_many",
]
