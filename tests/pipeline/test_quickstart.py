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


def test_quickstart_runs_end_to_end(tmp_path: Path) -> None:
    require_tool(registry_missing_reason())
    env = {**CLEAN_ENV, "TMPDIR": str(tmp_path)}
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
    ports = dict(re.findall(r"^(staging|prod-a|prod-b): 127\.0\.0\.1:(\d+)$", out, re.M))
    assert set(ports) == {"staging", "prod-a", "prod-b"}
    assert "promoted: 4 tag(s) written" in out
    assert "up-to-date: every tag already names the digest" in out
    assert "exit 0" in out
    if "using the prebuilt image" not in out:
        assert "builds and pushes to staging" in out
    # the same digest in both productions, read by skopeo (when installed)
    digests = re.findall(r"/hello:1\.0\.0 -> (sha256:[0-9a-f]{64})$", out, re.M)
    if digests:
        assert len(digests) == 2 and digests[0] == digests[1]
    # it stopped what it started and left nothing behind
    for port in ports.values():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(port))) != 0
    assert list(tmp_path.iterdir()) == []
