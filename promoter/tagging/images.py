"""The ``images`` lines: ``name`` or ``name=NAME,enable=true|false``.

A single line of plain comma-separated names is the older form of a list
(``user/app,ghcr.io/user/app``). Names are lower-cased when tags are made.
"""

from __future__ import annotations

from collections.abc import Iterable

from promoter.errors import InputError
from promoter.structs import struct
from promoter.tagging.rules import split_fields

__all__ = ["ImageName", "parse_images"]


@struct(frozen=True)
class ImageName:
    """One image base name, and whether tags are written for it."""

    name: str
    enable: bool = True


def _plain_list(line: str) -> list[ImageName] | None:
    names = []
    for field_text in split_fields(line):
        if "=" in field_text:
            return None
        names.append(ImageName(field_text.strip()))
    return names


def parse_images(lines: Iterable[str]) -> list[ImageName]:
    """Parse image lines; an unknown attribute or an empty name raises InputError."""
    given = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if len(given) == 1:
        plain = _plain_list(given[0])
        if plain is not None:
            return plain
    images = []
    for line in given:
        name, enable = "", True
        for field_text in split_fields(line):
            parts = [part.strip() for part in field_text.split("=")]
            if len(parts) == 1:
                name = parts[0]
                continue
            key, value = parts[0].lower(), parts[1]
            if key == "name":
                name = value
            elif key == "enable":
                if value not in ("true", "false"):
                    raise InputError(f"invalid image {line!r}: enable must be true or false")
                enable = value == "true"
            else:
                raise InputError(f"invalid image {line!r}: unknown attribute {key!r}")
        if not name:
            raise InputError(f"invalid image {line!r}: the name is empty")
        images.append(ImageName(name, enable))
    return images
