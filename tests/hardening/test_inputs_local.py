"""Local inputs: OCI layouts, docker-archives and --batch files are exit 2 with the file and what
is wrong; writes stay inside a layout; files get the umask's permissions.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.config.cli_runner import CliResult, run_in_process

NOWHERE = "127.0.0.1:9/x:y"


def _blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    folder = layout / "blobs" / "sha256"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layout(path: Path) -> Path:
    """A one-image OCI layout, tag 'v1'."""
    path.mkdir(parents=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    config = _blob(
        path, b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    )
    layer = _blob(path, b"not really a tar, but a blob")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}],
        }
    ).encode()
    top = _blob(path, manifest)
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **top,
        "annotations": {"org.opencontainers.image.ref.name": "v1"},
    }
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return path


def _bad(outcome: CliResult) -> str:
    assert outcome.code == 2, outcome
    assert "internal error" not in outcome.stderr and "Traceback" not in outcome.stderr
    return outcome.first_error_line


def test_a_valid_layout_copies_to_a_new_layout(tmp_path: Path) -> None:
    source = _layout(tmp_path / "src")
    outcome = run_in_process(["copy", f"oci:{source}:v1", f"oci:{tmp_path / 'dst'}:v1"])
    assert outcome.code == 0, outcome


@pytest.mark.parametrize(
    ("index", "says"),
    [
        ({"manifests": [1]}, "manifests[0]: expected an object"),
        ({"manifests": {"a": 1}}, "manifests: expected a list"),
        ({"manifests": [{"digest": 5}]}, "manifests[0].digest: expected a digest"),
        ({"manifests": [{"digest": "sha256:" + "a" * 64, "size": "3"}]}, "manifests[0].size"),
        ({"manifests": [{"digest": "sha256:" + "a" * 64, "annotations": {"k": 1}}]}, "annotations"),
        ([], "is not a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
    ids=["entry-int", "manifests-map", "digest-int", "size-str", "annotation-int", "list", "deep"],
)
def test_a_malformed_index_is_exit_2_naming_the_file(tmp_path: Path, index: Any, says: str) -> None:
    source = _layout(tmp_path / "src")
    (source / "index.json").write_text(index if isinstance(index, str) else json.dumps(index))
    first = _bad(run_in_process(["copy", f"oci:{source}", NOWHERE]))
    assert f"{source / 'index.json'}" in first and says in first, first


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["digest", "size", "mediaType", "annotations", "manifests"]),
                inner,
                max_size=3,
            )
        ),
        max_leaves=12,
    )
)
def test_generated_indexes_never_make_an_internal_error(tmp_path: Path, document: Any) -> None:
    source = tmp_path / "gen"
    if not source.exists():
        _layout(source)
    (source / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": document}))
    outcome = run_in_process(["copy", f"oci:{source}", f"oci:{tmp_path / 'out'}"])
    assert "internal error" not in outcome.stderr and "Traceback" not in outcome.stderr
    assert outcome.code in (0, 2, 3), outcome


def test_a_symlinked_blobs_folder_is_refused_not_followed(tmp_path: Path) -> None:
    source = _layout(tmp_path / "src")
    outside = tmp_path / "outside"
    outside.mkdir()
    destination = tmp_path / "dst"
    destination.mkdir()
    (destination / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (destination / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    (destination / "blobs").symlink_to(outside)
    outcome = run_in_process(["copy", f"oci:{source}:v1", f"oci:{destination}:v1"])
    assert outcome.code == 2, outcome
    assert "is a symbolic link" in outcome.stderr
    assert list(outside.rglob("*")) == []


def test_files_get_the_umask_permissions(tmp_path: Path) -> None:
    source = _layout(tmp_path / "src")
    destination = tmp_path / "dst"
    done = subprocess.run(
        [sys.executable, "-m", "promoter", "copy", f"oci:{source}:v1", f"oci:{destination}:v1"],
        preexec_fn=lambda: os.umask(0o027),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    files = [p for p in destination.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def _archive(path: Path, index: bytes) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, data in (
            ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
            ("index.json", index),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("index", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"{nope", "is not JSON"),
        (b'{"manifests": [7]}', "manifests[0]: expected an object"),
    ],
    ids=["deep", "not-json", "entry-int"],
)
def test_a_docker_archive_with_a_broken_oci_index(tmp_path: Path, index: bytes, says: str) -> None:
    archive = _archive(tmp_path / "image.tar", index)
    first = _bad(run_in_process(["copy", f"docker-archive:{archive}", NOWHERE]))
    assert str(archive) in first and says in first, first


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text"),
        (b"a b\n\x00\n", "binary data"),
        (b"only-one\n", "expected 'SRC DST'"),
    ],
    ids=["png", "nul", "one-word"],
)
def test_a_batch_file_that_is_not_lines_of_pairs(tmp_path: Path, content: bytes, says: str) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_bytes(content)
    first = _bad(run_in_process(["copy", "--batch", str(batch)]))
    assert first.startswith(f"error: {batch}:") and says in first, first


def test_a_batch_file_that_is_a_device_is_not_read() -> None:
    assert (
        _bad(run_in_process(["copy", "--batch", "/dev/zero"]))
        == "error: /dev/zero: is not a regular file"
    )
