"""The bytecode of the modules a command starts with, kept in one file per command.

A ``promoter copy`` with nothing to do imports some 80 of promoter's modules
before its first request. For each, Python searches the package's folder, checks
the source's time stamp, and opens, reads and checks a bytecode file of its own:
with this file, 7.6 M of the 229 M instructions of that process go (3.3 %, issue
#24). CPython freezes the modules it starts with for the same reason.

Here the console script keeps, per command, the bytecode of the promoter modules
that command imported, in one file beside the bytecode Python writes
(``promoter/__pycache__/start-copy.cpython-311.bin``). The next run of that
command finds each of those modules in it, and Python's own loader runs it:
``__file__``, tracebacks, ``importlib.resources`` and the source stay as they were.

It never runs code that is not the source's:

- each module is taken only when its source has the size and the modification
  time (in nanoseconds) it had when its code was kept; else Python imports it the
  usual way, and the file is written again after the run;
- the file is not read at all when a folder of the package has changed since (a
  module added, removed or renamed), or when it was written by another Python
  or with ``-O``;
- what it keeps is the code Python imported: the bytecode Python wrote and checks
  by the same rule, or the source compiled.

It is written only after a command that succeeded, with modules found the usual
way; not when ``PYTHONDONTWRITEBYTECODE`` (or ``-B``) is set, nor where the folder
cannot be written (a read-only install runs as without it). It is written to a
temporary file first and renamed, so a run never reads a half-written one.
"""

from __future__ import annotations

import marshal
import mmap
import os
import sys
from importlib.machinery import ModuleSpec, SourceFileLoader

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import CodeType, ModuleType

__all__ = ["FORMAT", "StartCache", "cache_path"]

#: The layout of the file: the length of a head (8 bytes, little-endian); the head,
#: marshalled: (FORMAT, sys.hexversion, folders, {module: (path under the package's
#: folder, is a package, source size, source time in ns, offset, length)}); then each
#: module's marshalled code, at its offset after the head. The file is mapped, not read:
#: a module's code is read from the page cache where it lies.
FORMAT = 2
_PACKAGE = "promoter"
_LENGTH = 8

#: A module as kept: (path under the package's folder, is a package, source size,
#: source modification time in ns, marshalled code).
_Entry = tuple[str, bool, int, int, "bytes | memoryview"]


def cache_path(command: str) -> str | None:
    """Where the code of ``command``'s modules is kept; None where Python keeps no bytecode."""
    package = sys.modules[_PACKAGE]
    cached = package.__spec__.cached if package.__spec__ is not None else None
    tag = sys.implementation.cache_tag
    if cached is None or tag is None or sys.flags.optimize:
        return None
    return os.path.join(os.path.dirname(cached), f"start-{command}.{tag}.bin")


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _folders(root: str, paths: Sequence[str]) -> dict[str, int]:
    """The modification time (ns) of each folder holding one of ``paths``: a folder's
    time moves when a file in it is added, removed or renamed."""
    found: dict[str, int] = {}
    for relative in paths:
        folder = os.path.dirname(relative)
        if folder not in found:
            found[folder] = os.stat(os.path.join(root, folder)).st_mtime_ns
    return found


def _well_formed(folders: object, index: object, room: int) -> bool:
    """Whether the head has the shapes this module writes, each code within the file."""
    if not (isinstance(folders, dict) and isinstance(index, dict)):
        return False
    for entry in index.values():
        if not (isinstance(entry, tuple) and len(entry) == 6):
            return False
        offset, length = entry[4], entry[5]
        if not (isinstance(offset, int) and isinstance(length, int)):
            return False
        if offset < 0 or length <= 0 or offset + length > room:
            return False
    return True


class _KeptLoader(SourceFileLoader):
    """Python's loader of a source file, given the module's code from the kept file."""

    def __init__(self, name: str, path: str, cache: StartCache, entry: _Entry) -> None:
        super().__init__(name, path)
        self._cache = cache
        self._entry = entry

    def get_code(self, fullname: str) -> CodeType:
        self._cache.used[fullname] = self._entry
        return marshal.loads(self._entry[4])  # type: ignore[no-any-return]


class StartCache:
    """The kept modules of one command: a finder for them, and what to keep after the run."""

    def __init__(self, command: str) -> None:
        self.path = cache_path(command)
        self.root = os.path.dirname(sys.modules[_PACKAGE].__file__ or "")
        self.entries: dict[str, _Entry] = {}
        #: The modules this run took from the file, as kept.
        self.used: dict[str, _Entry] = {}
        #: Whether a kept module's source had changed, or the file could not be used.
        self.stale = False
        #: promoter's modules imported before the finder was installed (never kept).
        self.before: set[str] = set()

    def load(self) -> None:
        """Map the kept modules, when the file is there, whole, and still true."""
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as kept:
                mapped = mmap.mmap(kept.fileno(), 0, access=mmap.ACCESS_READ)
            view = memoryview(mapped)
            end = _LENGTH + int.from_bytes(view[:_LENGTH], "little")
            layout, version, folders, index = marshal.loads(view[_LENGTH:end])
        except FileNotFoundError:
            return
        except (OSError, EOFError, ValueError, TypeError):
            self.stale = True
            return
        if (layout, version) != (FORMAT, sys.hexversion) or not _well_formed(
            folders, index, len(view) - end
        ):
            self.stale = True
            return
        if not self._folders_hold(folders):
            self.stale = True
            return
        self.entries = {
            name: (relative, is_package, size, mtime, view[end + offset : end + offset + length])
            for name, (relative, is_package, size, mtime, offset, length) in index.items()
        }

    def _folders_hold(self, folders: dict[str, int]) -> bool:
        for folder, mtime in folders.items():
            stamp = _stamp(os.path.join(self.root, folder))
            if stamp is None or stamp[1] != mtime:
                return False
        return True

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """A spec for a kept module whose source is unchanged; None for the rest."""
        entry = self.entries.get(name)
        if entry is None:
            return None
        relative, is_package, size, mtime, _ = entry
        location = os.path.join(self.root, relative)
        if _stamp(location) != (size, mtime):
            self.stale = True
            return None
        spec = ModuleSpec(
            name,
            _KeptLoader(name, location, self, entry),
            origin=location,
            is_package=is_package,
        )
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [os.path.dirname(location)]
        return spec

    def install(self) -> None:
        """Serve the kept modules to this process's imports, first of every finder."""
        self.before = set(_loaded_sources(self.root))
        self.load()
        if self.entries:
            sys.meta_path.insert(0, self)

    def save(self) -> None:
        """Keep the code of every promoter module this process imported from source, with
        the kept ones it did not import that are still true (a command's runs differ);
        nothing when the file already holds each of them as it is."""
        if self.path is None or sys.dont_write_bytecode:
            return
        found = {
            name: location
            for name, location in _loaded_sources(self.root).items()
            if name not in self.before and name not in self.used
        }
        if not (self.stale or found):
            return
        modules: dict[str, _Entry] = {
            name: entry
            for name, entry in self.entries.items()
            if _stamp(os.path.join(self.root, entry[0])) == (entry[2], entry[3])
        }
        for name, location in found.items():
            entry = _entry_for(name, location, self.root)
            if entry is not None:
                modules[name] = entry
            else:
                modules.pop(name, None)
        try:
            folders = _folders(self.root, [entry[0] for entry in modules.values()])
            _write(self.path, _layout(folders, modules))
        except OSError:
            pass  # a folder we may not write (a read-only install): run as without it


def _layout(folders: dict[str, int], modules: dict[str, _Entry]) -> bytes:
    """The file's bytes: the head's length, the head, each module's code."""
    index: dict[str, tuple[str, bool, int, int, int, int]] = {}
    offset = 0
    for name, (relative, is_package, size, mtime, code) in modules.items():
        index[name] = (relative, is_package, size, mtime, offset, len(code))
        offset += len(code)
    head = marshal.dumps((FORMAT, sys.hexversion, folders, index))
    codes = [entry[4] for entry in modules.values()]
    return len(head).to_bytes(_LENGTH, "little") + head + b"".join(codes)


def _loaded_sources(root: str) -> dict[str, str]:
    """promoter's modules this process imported from a source file under ``root``."""
    found: dict[str, str] = {}
    prefix = root + os.sep
    for name, module in list(sys.modules.items()):
        if name != _PACKAGE and not name.startswith(_PACKAGE + "."):
            continue
        location = getattr(module, "__file__", None)
        if isinstance(location, str) and location.startswith(prefix) and location.endswith(".py"):
            found[name] = location
    return found


def _entry_for(name: str, location: str, root: str) -> _Entry | None:
    """A module's code as Python imports it (its bytecode file when Python would take
    it, else the source compiled), with the stamp its source had before it was read."""
    before = _stamp(location)
    if before is None:
        return None
    code = _bytecode(location, before)
    if code is None:
        try:
            compiled = SourceFileLoader(name, location).get_code(name)
        except (OSError, SyntaxError, ValueError):
            return None
        code = marshal.dumps(compiled)
    if _stamp(location) != before:  # changed while it was read
        return None
    relative = os.path.relpath(location, root)
    is_package = os.path.basename(location) == "__init__.py"
    return relative, is_package, before[0], before[1], code


def _bytecode(location: str, stamp: tuple[int, int]) -> bytes | None:
    """The marshalled code in ``location``'s bytecode file, when Python's own check of it
    (PEP 552: magic number, a time-stamp file, the source's seconds and size) passes."""
    # here, not at the top: the bytecode file's name and magic number, only when keeping
    from importlib.util import MAGIC_NUMBER, cache_from_source

    try:
        with open(cache_from_source(location), "rb") as compiled:
            data = compiled.read()
    except (OSError, NotImplementedError, ValueError):
        return None
    size, mtime_ns = stamp
    header = (
        MAGIC_NUMBER
        + (0).to_bytes(4, "little")
        + ((mtime_ns // 1_000_000_000) & 0xFFFFFFFF).to_bytes(4, "little")
        + (size & 0xFFFFFFFF).to_bytes(4, "little")
    )
    return data[16:] if data[:16] == header and len(data) > 16 else None


def _write(path: str, data: bytes) -> None:
    """``data`` into ``path`` whole: a temporary file in the same folder, renamed over it."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
