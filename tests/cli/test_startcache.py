"""``promoter.cli.startcache``: a command's modules kept in one file, never stale.

Each test runs a copy of the ``promoter`` package (its own ``__pycache__``) in a
process of its own, through the console script's entry, as a user's machine runs it:
bytecode written (``PYTHONDONTWRITEBYTECODE`` unset).
"""

from __future__ import annotations

import compileall
import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from promoter.cli import startcache
from promoter.cli.entry import command_word
from tests.support.env import clean_env

REPO = Path(__file__).resolve().parents[2]

#: Runs the entry of the package copy in argv[1] with the command line after it.
ENTRY = """
import sys
sys.path.insert(0, sys.argv[1])
sys.argv = ["promoter", *sys.argv[2:]]
from promoter.cli.entry import main
main()
"""

#: Imports the package copy in argv[1] with command argv[2]'s kept modules installed,
#: imports the modules argv[3:], and prints what loaded each and how.
PROBE = """
import importlib, inspect, json, sys
sys.path.insert(0, sys.argv[1])
from promoter.cli.startcache import StartCache
kept = StartCache(sys.argv[2])
kept.install()
found = {}
for name in sys.argv[3:]:
    module = importlib.import_module(name)
    found[name] = [type(module.__loader__).__name__, module.__file__]
print(json.dumps({"found": found, "stale": kept.stale, "kept": sorted(kept.entries)}))
"""


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A compiled copy of the ``promoter`` package; the folder that holds it."""
    root = tmp_path / "site"
    shutil.copytree(REPO / "promoter", root / "promoter",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    compileall.compile_dir(str(root / "promoter"), quiet=1)
    return root


def _env(**extra: str) -> dict[str, str]:
    env = clean_env(**extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(
    package: Path, *args: str, env: dict[str, str] | None = None, flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", ENTRY, str(package), *args],
        capture_output=True, text=True, timeout=120, check=False, env=env or _env(),
    )  # fmt: skip


def _probe(package: Path, command: str, *modules: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(package), command, *modules],
        capture_output=True, text=True, timeout=120, check=False, env=_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _kept_file(package: Path, command: str) -> Path:
    return (
        package / "promoter" / "__pycache__" / f"start-{command}.{sys.implementation.cache_tag}.bin"
    )


def test_a_command_keeps_its_modules_and_the_next_run_takes_them(package: Path) -> None:
    first = _run(package, "schema")
    assert first.returncode == 0, first.stderr
    kept = _kept_file(package, "schema")
    assert kept.is_file()
    written = kept.stat().st_mtime_ns
    second = _run(package, "schema")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert json.loads(second.stdout)["title"]  # the schema, read with importlib.resources
    assert kept.stat().st_mtime_ns == written  # every module found in it: nothing to write

    seen = _probe(package, "schema", "promoter.cli.main", "promoter.config.schema")
    assert "promoter.config.schema" in seen["kept"]  # type: ignore[operator]
    for name, (loader, location) in seen["found"].items():  # type: ignore[attr-defined]
        assert loader == "_KeptLoader", name
        assert location == str(package / "promoter" / Path(*name.split(".")[1:])) + ".py"
    assert seen["stale"] is False
    # The modules imported before the finder (the entry's own) are never kept.
    assert "promoter.cli.startcache" not in seen["kept"]  # type: ignore[operator]


def test_a_changed_source_runs_as_changed_and_is_kept_again(package: Path) -> None:
    assert _run(package, "schema").returncode == 0
    kept = _kept_file(package, "schema")
    before = kept.stat().st_mtime_ns
    source = package / "promoter" / "config" / "schema.py"
    text = source.read_text(encoding="utf-8")
    source.write_text(text + '\nimport sys\nsys.stderr.write("changed source ran\\n")\n',
                      encoding="utf-8")  # fmt: skip
    done = _run(package, "schema")
    assert done.returncode == 0, done.stderr
    assert "changed source ran" in done.stderr
    assert kept.stat().st_mtime_ns != before  # written again, with the source as it is now
    again = _run(package, "schema")
    assert "changed source ran" in again.stderr
    seen = _probe(package, "schema", "promoter.config.schema")
    assert seen["found"]["promoter.config.schema"][0] == "_KeptLoader"  # type: ignore[index]


def test_a_source_of_the_same_size_changed_is_not_taken_from_the_file(package: Path) -> None:
    assert _run(package, "schema").returncode == 0
    source = package / "promoter" / "config" / "schema.py"
    text = source.read_text(encoding="utf-8")
    assert "The " in text
    source.write_text(text.replace("The ", "THE ", 1), encoding="utf-8")  # its docstring
    status = source.stat()
    os.utime(source, ns=(status.st_atime_ns, status.st_mtime_ns + 1))
    seen = _probe(package, "schema", "promoter.config.schema")
    assert seen["found"]["promoter.config.schema"][0] == "SourceFileLoader"  # type: ignore[index]
    assert seen["stale"] is True


def test_a_module_added_to_a_folder_sets_the_whole_file_aside(package: Path) -> None:
    assert _run(package, "schema").returncode == 0
    (package / "promoter" / "config" / "added.py").write_text("VALUE = 1\n", encoding="utf-8")
    seen = _probe(package, "schema", "promoter.config.schema")
    assert seen["kept"] == []
    assert seen["stale"] is True
    assert seen["found"]["promoter.config.schema"][0] == "SourceFileLoader"  # type: ignore[index]


def _head(kept: Path) -> tuple[tuple[object, ...], bytes]:
    """The file's head (FORMAT, version, folders, index) and the codes after it."""
    data = kept.read_bytes()
    end = 8 + int.from_bytes(data[:8], "little")
    return marshal.loads(data[8:end]), data[end:]


def _rewrite(kept: Path, head: tuple[object, ...], codes: bytes) -> None:
    raw = marshal.dumps(head)
    kept.write_bytes(len(raw).to_bytes(8, "little") + raw + codes)


def test_a_damaged_file_is_set_aside_and_written_again(package: Path) -> None:
    kept = _kept_file(package, "schema")
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(b"\x00not marshal")
    done = _run(package, "schema")
    assert done.returncode == 0, done.stderr
    (layout, version, _folders, index), codes = _head(kept)
    assert (layout, version) == (startcache.FORMAT, sys.hexversion)
    relative, is_package, _size, _mtime, offset, length = index["promoter.config.schema"]  # type: ignore[index]
    assert (relative, is_package) == (os.path.join("config", "schema.py"), False)
    space: dict[str, object] = {"__name__": "probe"}
    exec(marshal.loads(codes[offset : offset + length]), space)
    assert callable(space["schema_text"])


@pytest.mark.parametrize("damage", ["short entries", "codes cut off", "empty"])
def test_a_file_of_another_shape_is_not_read(package: Path, damage: str) -> None:
    assert _run(package, "schema").returncode == 0
    kept = _kept_file(package, "schema")
    (layout, version, folders, index), codes = _head(kept)
    if damage == "short entries":
        cut = {name: entry[:3] for name, entry in index.items()}  # type: ignore[attr-defined]
        _rewrite(kept, (layout, version, folders, cut), codes)
    elif damage == "codes cut off":
        _rewrite(kept, (layout, version, folders, index), codes[: len(codes) // 2])
    else:
        kept.write_bytes(b"")
    seen = _probe(package, "schema", "promoter.config.schema")
    assert seen["kept"] == []
    assert seen["stale"] is True
    assert seen["found"]["promoter.config.schema"][0] == "SourceFileLoader"  # type: ignore[index]


def test_a_file_of_another_python_is_not_read(package: Path) -> None:
    assert _run(package, "schema").returncode == 0
    kept = _kept_file(package, "schema")
    (layout, _version, folders, index), codes = _head(kept)
    _rewrite(kept, (layout, sys.hexversion - 1, folders, index), codes)
    seen = _probe(package, "schema", "promoter.config.schema")
    assert seen["kept"] == []
    assert seen["stale"] is True


def test_nothing_is_written_when_bytecode_is_not_or_the_cache_is_not_wanted(package: Path) -> None:
    done = _run(package, "schema", env={**_env(), "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stderr
    assert not _kept_file(package, "schema").exists()
    unwanted = _run(package, "schema", env=_env(PROMOTER_NO_START_CACHE="1"))
    assert unwanted.returncode == 0, unwanted.stderr
    assert not _kept_file(package, "schema").exists()
    optimized = _run(package, "schema", flags=("-O",))
    assert optimized.returncode == 0, optimized.stderr
    assert not _kept_file(package, "schema").exists()


def test_a_failed_run_or_a_help_keeps_nothing(package: Path) -> None:
    failed = _run(package, "copy", "not a reference", "oci:/nowhere")
    assert failed.returncode == 2, failed.stderr
    assert not _kept_file(package, "copy").exists()
    helped = _run(package, "schema", "--help")
    assert helped.returncode == 0, helped.stderr
    assert not _kept_file(package, "schema").exists()
    unknown = _run(package, "nosuchcommand")
    assert unknown.returncode == 2
    assert not _kept_file(package, "nosuchcommand").exists()


def test_a_folder_that_cannot_take_the_file_runs_as_without_it(package: Path) -> None:
    # Root may write anywhere: a folder where the file would go stands for a read-only one.
    blocked = _kept_file(package, "schema")
    blocked.mkdir(parents=True)
    done = _run(package, "schema")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["title"]
    assert blocked.is_dir()
    assert [p.name for p in blocked.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_the_command_word() -> None:
    assert command_word(["copy", "a", "b"]) == "copy"
    assert command_word(["-q", "--debug", "copy"]) == "copy"
    assert command_word(["--help"]) is None
    assert command_word([]) is None
    assert command_word(["--timeout", "5", "copy"]) is None  # an option's value: no file
    assert command_word(["../../etc"]) is None
    assert command_word(["Copy"]) is None
    assert command_word(["x" * 33]) is None


@pytest.mark.parametrize("with_bytecode", [True, False])
def test_a_module_is_kept_as_python_would_import_it(tmp_path: Path, with_bytecode: bool) -> None:
    # Its bytecode file when Python's own check of it passes; else the source compiled.
    source = tmp_path / "kept_module.py"
    source.write_text("def answer():\n    return 42\n", encoding="utf-8")
    if with_bytecode:
        compileall.compile_file(str(source), quiet=1)
        stale = tmp_path / "other.py"  # a bytecode file that does not match its source
        stale.write_text("def answer():\n    return 41\n", encoding="utf-8")
        compileall.compile_file(str(stale), quiet=1)
        stale.write_text("def answer():\n    return 40\n", encoding="utf-8")
        os.utime(stale, (1, 1))
    names = ["kept_module", "other"] if with_bytecode else ["kept_module"]
    expected = {"kept_module": 42, "other": 40}
    for name in names:
        entry = startcache._entry_for(name, str(tmp_path / f"{name}.py"), str(tmp_path))
        assert entry is not None
        relative, is_package, size, mtime, code = entry
        assert (relative, is_package) == (f"{name}.py", False)
        status = (tmp_path / f"{name}.py").stat()
        assert (size, mtime) == (status.st_size, status.st_mtime_ns)
        space: dict[str, object] = {}
        exec(marshal.loads(code), space)
        assert space["answer"]() == expected[name]  # type: ignore[operator]
