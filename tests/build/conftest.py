"""Fixtures of the build tests: the kaniko stand-in image in the real Docker engine.

``standin_image``   the stand-in imported into dockerd (session); skipped when no
                    engine answers, FAILED under CI (``CI=true``).
``standin_script``  the stand-in script itself, for the subprocess mode (needs
                    /bin/busybox from busybox-static).
``build_context``   a context with Debian's static busybox and a Dockerfile whose
                    image runs ``/busybox echo hello``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kaniko_standin import (
    BUSYBOX,
    EXECUTOR_SCRIPT,
    build_standin_image,
    standin_missing_reason,
)
from tests.support.real_parts import require

HELLO_DOCKERFILE = """\
FROM scratch
ARG VERSION=0.0.0
COPY busybox /busybox
COPY hello.txt /data/hello.txt
ENV GREETING=hello
LABEL org.opencontainers.image.version=$VERSION
ENTRYPOINT ["/busybox","echo","hello"]
"""


_require = require


@pytest.fixture(scope="session")
def standin_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The stand-in executor image's tag, imported into the running Docker engine."""
    _require(standin_missing_reason())
    return build_standin_image(tmp_path_factory.mktemp("kaniko-standin"))


@pytest.fixture(scope="session")
def standin_script() -> Path:
    """The stand-in executor script (a busybox sh script), for the subprocess mode."""
    if not BUSYBOX.is_file():
        _require(f"{BUSYBOX} not found (Debian package busybox-static)")
    assert os.access(EXECUTOR_SCRIPT, os.X_OK), "the stand-in script must be executable"
    return EXECUTOR_SCRIPT


@pytest.fixture
def build_context(tmp_path: Path) -> Path:
    """A build context: busybox, a text file and a Dockerfile FROM scratch."""
    if not BUSYBOX.is_file():
        _require(f"{BUSYBOX} not found (Debian package busybox-static)")
    context = tmp_path / "context"
    context.mkdir()
    shutil.copy2(BUSYBOX, context / "busybox")
    (context / "hello.txt").write_text("hello from the context\n")
    (context / "Dockerfile").write_text(HELLO_DOCKERFILE)
    return context


def containers_labelled(name: str) -> list[str]:
    """IDs of containers (running or not) promoter labelled for the image ``name``."""
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.promoter.build={name}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """An image name unique to this test, so container lookups by label are exact."""
    name = f"t-{request.node.name[:40]}-{os.getpid()}".replace("[", "-").replace("]", "")
    yield name
    leftover = containers_labelled(name)
    if leftover:
        subprocess.run(["docker", "rm", "-f", *leftover], capture_output=True, check=False)
