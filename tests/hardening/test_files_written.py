"""Files promoter writes are never written through a link (issue #21, 6): a symbolic
link planted at the target is replaced by a regular file and its victim is untouched;
a key is 0600 from its first byte; a failed write leaves no temporary file."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from promoter.files import write_file
from tests.promote.project import Project, promoter_cli
from tests.support.cli import isolated_env, run_cli
from tests.support.registry import Registry

VICTIM = b"the victim's own content\n"


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[Path]:
    """A file outside the target folder that a link will point at; checked unchanged."""
    path = tmp_path / "elsewhere" / "victim"
    path.parent.mkdir()
    path.write_bytes(VICTIM)
    os.chmod(path, 0o644)
    yield path
    assert path.read_bytes() == VICTIM
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def _planted(target: Path, victim: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(victim)
    return target


def _regular(path: Path) -> bytes:
    assert not path.is_symlink() and stat.S_ISREG(path.lstat().st_mode)
    return path.read_bytes()


# -- the writer -------------------------------------------------------------------------


def test_a_secret_is_created_0600_from_its_first_byte_even_with_umask_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[tuple[int, int]] = []
    modes_at_first_write: list[int] = []
    real_open, real_write = os.open, os.write

    def opening(path: str, flags: int, mode: int = 0o777, **kw: object) -> int:
        created.append((flags, mode))
        return real_open(path, flags, mode)

    def writing(fd: int, data: bytes | memoryview) -> int:
        if not modes_at_first_write:
            modes_at_first_write.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(os, "open", opening)
    monkeypatch.setattr(os, "write", writing)
    old = os.umask(0)
    try:
        write_file(tmp_path / "cosign.key", b"secret", mode=0o600)
    finally:
        os.umask(old)
    flags, mode = created[0]
    needed = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
    assert flags & needed == needed and mode == 0o600
    assert modes_at_first_write == [0o600]
    assert stat.S_IMODE((tmp_path / "cosign.key").stat().st_mode) == 0o600


def test_the_writer_replaces_a_link_and_keeps_a_plain_files_mode(
    tmp_path: Path, victim: Path
) -> None:
    target = _planted(tmp_path / "out" / "plan.json", victim)
    write_file(target, "new\n")
    assert _regular(target) == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    assert sorted(p.name for p in target.parent.iterdir()) == ["plan.json"]


def test_an_exclusive_write_refuses_even_a_dangling_link(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    target = tmp_path / "cosign.key"
    target.symlink_to(absent)
    with pytest.raises(FileExistsError):
        write_file(target, b"secret", mode=0o600, exclusive=True)
    assert not absent.exists() and target.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cosign.key"]


def test_a_failed_write_leaves_no_temporary_file_and_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n")

    def failing(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError, match="No space left"):
        write_file(target, "new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


# -- through the command line -------------------------------------------------------------


def test_keygen_replaces_links_at_its_targets_and_never_follows_them(
    tmp_path: Path, victim: Path
) -> None:
    env = isolated_env(tmp_path, {"COSIGN_PASSWORD": "files-written-7d2"})
    key = _planted(tmp_path / "keys" / "release.key", victim)
    refused = run_cli(["keygen", "--out-prefix", "keys/release"], cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0] == "error: keys/release.key exists already"
    assert key.is_symlink()
    pub = _planted(tmp_path / "keys" / "release.pub", victim)
    done = run_cli(["keygen", "--out-prefix", "keys/release", "--force"], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert _regular(key).startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert _regular(pub).startswith(b"-----BEGIN PUBLIC KEY-----")
    assert sorted(p.name for p in key.parent.iterdir()) == ["release.key", "release.pub"]


@pytest.mark.registry
def test_plan_out_replaces_a_link_and_never_follows_it(
    registry_factory: Callable[..., Registry], tmp_path: Path, victim: Path
) -> None:
    registries = [registry_factory() for _ in range(3)]
    project = Project(tmp_path / "project", *registries)
    project.seed()
    out = _planted(tmp_path / "plans" / "plan.json", victim)
    done = promoter_cli("plan", "-f", str(project.file), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(_regular(out))["format"] == "promoter.plan/v1"
