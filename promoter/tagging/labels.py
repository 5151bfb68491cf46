"""The OCI labels and annotations: eight generated keys, then the user's, by key.

The generated ones are ``org.opencontainers.image.{created, description,
licenses, revision, source, title, url, version}``; a user line ``key=value``
replaces the generated value of the same key; a line without ``=`` is
dropped. The result is sorted by key, the way JavaScript's ``localeCompare``
orders ASCII keys (punctuation before digits before letters, case folded).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from promoter.tagging.context import RepositoryInfo

__all__ = ["ANNOTATION_LEVELS", "iso_timestamp", "merge_labels", "oci_labels", "with_levels"]

#: Annotation levels of ``docker buildx``; ``manifest`` is the default.
ANNOTATION_LEVELS = ("manifest", "index", "manifest-descriptor", "index-descriptor")
_PUNCTUATION = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"


def iso_timestamp(when: datetime) -> str:
    """``Date.toISOString``: UTC with milliseconds, ``2020-01-10T00:30:00.000Z``."""
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def oci_labels(
    repository: RepositoryInfo, version: str, revision: str, created: datetime
) -> list[tuple[str, str]]:
    """The eight generated OCI keys and values."""
    prefix = "org.opencontainers.image."
    return [
        (prefix + "title", repository.name),
        (prefix + "description", repository.description),
        (prefix + "url", repository.html_url),
        (prefix + "source", repository.html_url),
        (prefix + "version", version),
        (prefix + "created", iso_timestamp(created)),
        (prefix + "revision", revision),
        (prefix + "licenses", repository.license),
    ]


def _collation_key(key: str) -> tuple[tuple[int, int, str], ...]:
    out = []
    for char in key:
        if char.isspace():
            out.append((0, 0, char))
        elif char in _PUNCTUATION:
            out.append((1, _PUNCTUATION.index(char), char))
        elif char.isdigit():
            out.append((2, int(char), char))
        else:
            out.append((3, ord(char.lower()), char.swapcase()))
    return tuple(out)


def merge_labels(generated: Iterable[tuple[str, str]], custom: Iterable[str]) -> list[str]:
    """``key=value`` lines: generated pairs overridden by custom lines, sorted by key."""
    merged: dict[str, str] = dict(generated)
    for line in custom:
        key, sep, value = line.partition("=")
        if sep and key:
            merged[key] = value
    return [f"{key}={merged[key]}" for key in sorted(merged, key=_collation_key)]


def with_levels(annotations: Iterable[str], levels: Iterable[str]) -> list[str]:
    """Each annotation prefixed with each level (``manifest:key=value``), levels outermost."""
    items = list(annotations)
    return [f"{level}:{item}" for level in levels for item in items]
