"""The kaniko stand-in: a local Docker image built by the tests from Debian's static busybox.

kaniko's executor image cannot be downloaded here, so the build tests run
``executor`` (a busybox ``sh`` script next to this file, test code only) as
``/kaniko/executor`` in an image made with ``docker import`` from a root
filesystem tar: /bin/busybox and its applet links, /kaniko/executor,
/workspace, /tmp. The image is tagged by the content hash of what went into
it, so an unchanged stand-in is imported once.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

from tests.support.real_parts import docker_engine_missing

__all__ = ["BUSYBOX", "EXECUTOR_SCRIPT", "build_standin_image", "standin_missing_reason"]

BUSYBOX = Path(os.environ.get("PROMOTER_TEST_BUSYBOX", "/bin/busybox"))
EXECUTOR_SCRIPT = Path(__file__).with_name("executor")
IMAGE_REPOSITORY = "promoter-test/kaniko-standin"


def standin_missing_reason() -> str | None:
    """Why the stand-in cannot be built here, or None when it can."""
    if not BUSYBOX.is_file():
        return f"{BUSYBOX} not found (Debian package busybox-static)"
    return docker_engine_missing()


def _applets() -> list[str]:
    listed = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True)
    return sorted(name for name in listed.stdout.split() if name and "/" not in name)


def _add(
    tar: tarfile.TarFile,
    name: str,
    *,
    data: bytes | None = None,
    mode: int = 0o755,
    kind: bytes = tarfile.REGTYPE,
    link: str = "",
) -> None:
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.type = kind
    info.linkname = link
    info.mtime = 0
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def rootfs_tar(destination: Path) -> str:
    """Write the stand-in's root filesystem tar; return its content hash (hex)."""
    busybox = BUSYBOX.read_bytes()
    script = EXECUTOR_SCRIPT.read_bytes()
    with tarfile.open(destination, "w", format=tarfile.GNU_FORMAT) as tar:
        for directory, mode in (
            ("bin", 0o755),
            ("kaniko", 0o755),
            ("kaniko/.docker", 0o755),
            ("workspace", 0o755),
            ("tmp", 0o1777),
            ("etc", 0o755),
        ):
            _add(tar, directory, mode=mode, kind=tarfile.DIRTYPE)
        _add(tar, "bin/busybox", data=busybox)
        for applet in _applets():
            if applet != "busybox":
                _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, link="busybox", mode=0o777)
        _add(tar, "kaniko/executor", data=script)
        _add(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n", mode=0o644)
    return hashlib.sha256(busybox + b"\0" + script).hexdigest()


def build_standin_image(workdir: Path) -> str:
    """Import the stand-in image into the Docker engine (once per content); return its tag."""
    workdir.mkdir(parents=True, exist_ok=True)
    tar_path = workdir / "kaniko-standin-rootfs.tar"
    digest = rootfs_tar(tar_path)
    tag = f"{IMAGE_REPOSITORY}:{digest[:16]}"
    present = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    if present.returncode == 0:
        return tag
    subprocess.run(
        [
            "docker",
            "import",
            "--change",
            'ENTRYPOINT ["/kaniko/executor"]',
            "--change",
            "ENV DOCKER_CONFIG=/kaniko/.docker/",
            "--change",
            "ENV PATH=/bin",
            "--change",
            "WORKDIR /workspace",
            str(tar_path),
            tag,
        ],
        capture_output=True,
        check=True,
    )
    return tag
