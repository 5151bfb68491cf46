"""The one way promoter writes a file a user named: never through a link, never half.

``write_file`` writes to a new temporary file beside the target, created with
``O_CREAT | O_EXCL | O_NOFOLLOW`` and its final mode (a key is 0600 from the
first byte, whatever the umask), flushes it to disk, then renames it over the
target. A symbolic link at the target is replaced, never followed, so a link
planted there cannot make promoter write somewhere else; a reader sees the old
file or the whole new one. On any failure the temporary file is removed.
``exclusive`` refuses a target that exists (a dangling link included), as one
step with the rename (``link``), so two writers cannot both win.

A ground module: every layer may import it. It raises ``OSError`` (the caller
says what it was writing); ``FileExistsError`` for an ``exclusive`` target.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["write_file"]

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def write_file(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    mode: int = 0o666,
    exclusive: bool = False,
) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` by a temporary file renamed over it.

    ``mode`` is the new file's mode less the umask (0o666: what ``open()`` gives);
    a mode of 0o600 or less is kept exactly, for secrets. Returns the target."""
    target = Path(path)
    content = data.encode("utf-8") if isinstance(data, str) else data
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, _CREATE, mode)
    try:
        try:
            if mode & 0o077 == 0:
                os.fchmod(fd, mode)  # a secret's mode, not one the umask made wider or odd
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            os.link(temporary, target, follow_symlinks=False)  # EEXIST if anything is there
            os.unlink(temporary)
        else:
            os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
