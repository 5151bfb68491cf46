"""The README's first command: examples/quickstart/run.sh, end to end on this machine."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.promote.project import CLEAN_ENV
from tests.support.registry import registry_missing_reason

pytestmark = pytest.mark.registry

ROOT = Path(__file__).resolve().parents[2]


def _run_quickstart(tmp_path: Path, **extra_env: str) -> str:
    require_tool(registry_missing_reason())
    env = {**CLEAN_ENV, "TMPDIR": str(tmp_path), **extra_env}
    done = subprocess.run(
        ["bash", str(ROOT / "examples" / "quickstart" / "run.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    _check_output(out, tmp_path)
    return out


def _check_output(out: str, tmp_path: Path) -> None:
    ports = dict(re.findall(r"^(staging|prod-a|prod-b): 127\.0\.0\.1:(\d+)$", out, re.M))
    assert set(ports) == {"staging", "prod-a", "prod-b"}
    assert "promoted: 4 tag(s) written" in out
    assert "up-to-date: every tag already names the digest" in out
    assert "exit 0" in out
    # the same digest in both productions, read by skopeo (when installed)
    digests = re.findall(r"/hello:1\.0\.0 -> (sha256:[0-9a-f]{64})$", out, re.M)
    if digests:
        assert len(digests) == 2 and digests[0] == digests[1]
    # it stopped what it started and left nothing behind
    for port in ports.values():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(port))) != 0
    assert list(tmp_path.iterdir()) == []


def test_quickstart_without_kaniko_promotes_the_prebuilt_image(tmp_path: Path) -> None:
    out = _run_quickstart(tmp_path, PROMOTER_KANIKO_IMAGE="promoter-test/absent:none")
    assert "No kaniko executor image in the local Docker engine" in out
    assert "(staging tag 1.0.0)" in out


@pytest.mark.docker
def test_quickstart_builds_with_kaniko_when_its_image_is_here(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The stand-in executor (tests/support/kaniko_standin) plays kaniko's image."""
    from tests.support.kaniko_standin import build_standin_image, standin_missing_reason

    require_tool(standin_missing_reason())
    executor = build_standin_image(tmp_path_factory.mktemp("standin"))
    out = _run_quickstart(tmp_path, PROMOTER_KANIKO_IMAGE=executor)
    assert f"kaniko's executor image is here ({executor})" in out
    assert "digests still unknown: hello" in out  # the plan, before the build
    assert "(built in this run)" in out
    assert "pushed tag 1.0.0" in out
