"""Every lie of the hostile registry, copied from by the real CLI into a real registry.

For each lie, as a user would run it (``promoter copy SRC DST`` in a process
of its own, under ``/usr/bin/time``): exit 3, one message that says what the
registry did, done within its deadline plus a margin, a peak RSS under
200 MiB, no tag at the destination, and no byte of the credential (plain or
base64) in anything the run wrote: stdout, stderr, the destination's storage.

Deadlines are set short (``PROMOTER_TIMEOUT=4``, a speed floor of 1 KiB/s over
3 s) so the table takes seconds, not the defaults' minutes.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.cli import isolated_env, run_cli
from tests.support.hostile_registry import OCI_MANIFEST, HostileRegistry
from tests.support.registry import Registry

USER, PASSWORD = "robot", "hostile-table-secret-5d1e"
TIMEOUT, SPEED_LIMIT, SPEED_TIME = 4, 1024, 3
PEAK_MIB = 200
TIME = shutil.which("time") or "/usr/bin/time"


@dataclass(frozen=True)
class Case:
    lie: str
    message: str  # a regex the error line must match
    seconds: float  # the bound on the whole run
    by_digest: bool = False


CASES = [
    Case("blob-digest", r"lie/blob-digest: the registry sent blob sha256:\w+ with content that does not match", 10),
    Case("manifest-digest", r": the registry sent manifest \S+lie/manifest-digest@sha256:\w+ with content that does not match its digest", 10, by_digest=True),
    Case("header-digest", r": the registry sent manifest \S+lie/header-digest:latest with content that does not match its digest", 10),
    Case("self-index", r": the registry sent manifest \S+lie/self-index:latest with content that does not match its digest", 10),
    Case("deep-index", r"lie/deep-index: the registry sent an index nested more than \d+ levels deep", 10),
    Case("wide-index", r"get manifest \S+lie/wide-index:latest: the registry sent a manifest of more than 4 MiB", 10),
    Case("endless-200", r"get manifest \S+lie/endless-200:latest: the registry sent a manifest of more than 4 MiB", 10),
    Case("endless-500", r"get manifest \S+lie/endless-500:latest: internal server error \(HTTP 500\)", TIMEOUT + 10),
    Case("huge-manifest", r"get manifest \S+lie/huge-manifest:latest: the registry sent a manifest of more than 4 MiB", 10),
    Case("redirect-loop", r"more than \d+ redirects", 15),
    Case("short-body", r"lie/short-body:latest: the connection closed before the whole answer arrived", 15),
    Case("slow-headers", rf"get manifest \S+lie/slow-headers:latest: no complete answer within {TIMEOUT} s", TIMEOUT + 6),
    Case("slow-manifest", rf"get manifest \S+lie/slow-manifest:latest: no complete answer within {TIMEOUT} s", TIMEOUT + 6),
    Case("slow-blob", rf"get blob \S+lie/slow-blob@sha256:\w+: slower than {SPEED_LIMIT} bytes/s over {SPEED_TIME} s", 2 * SPEED_TIME + 6),
    Case("retry-after", r"asked to wait 30 s before asking again; the deadline leaves \d+ s", 10),
    Case("echo-auth", r"get manifest \S+lie/echo-auth:latest: DENIED \(HTTP 403\): denied: the request carried Basic \*\*\*", 10),
]  # fmt: skip


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileRegistry]:
    with HostileRegistry(auth=True) as registry:
        yield registry


def _honest_digest(hostile: HostileRegistry) -> str:
    answer = httpx.get(
        f"http://{hostile.host}/v2/lie/honest/manifests/latest",
        headers={"Accept": OCI_MANIFEST},
        auth=(USER, PASSWORD),
        timeout=5,
    )
    return answer.headers["Docker-Content-Digest"]


@pytest.mark.parametrize("case", CASES, ids=[c.lie for c in CASES])
def test_each_lie_fails_fast_small_and_clean(
    case: Case, hostile: HostileRegistry, registry: Registry, tmp_path: Path
) -> None:
    prefix = "PROMOTER_REGISTRY_" + re.sub(r"[^A-Za-z0-9]", "_", hostile.host).upper()
    env = isolated_env(tmp_path, {
        f"{prefix}_USERNAME": USER, f"{prefix}_PASSWORD": PASSWORD,
        "PROMOTER_TIMEOUT": str(TIMEOUT), "PROMOTER_SPEED_LIMIT": str(SPEED_LIMIT),
        "PROMOTER_SPEED_TIME": str(SPEED_TIME),
    })  # fmt: skip
    reference = f"{hostile.host}/lie/{case.lie}"
    reference += f"@{_honest_digest(hostile)}" if case.by_digest else ":latest"
    repository = f"hostile/{case.lie}-{uuid.uuid4().hex[:8]}"
    peak_file = tmp_path / "peak"
    started = time.monotonic()
    done = run_cli(
        ["copy", reference, f"{registry.host}/{repository}:latest",
         "--insecure-registry", hostile.host, "--output", "json"],
        cwd=tmp_path, env=env, timeout=120,
        wrapper=[TIME, "-f", "%M", "-o", str(peak_file)],
    )  # fmt: skip
    took = time.monotonic() - started

    assert done.returncode == 3, done.stderr
    failure = json.loads(done.stdout)["error"]
    error = f"{failure['message']} / {failure.get('detail', '')}"
    assert re.search(case.message, error), error
    assert took < case.seconds, f"{case.lie} took {took:.1f} s"
    peak_mib = int(peak_file.read_text().split()[-1]) / 1024
    assert peak_mib < PEAK_MIB, f"{case.lie}: peak RSS {peak_mib:.0f} MiB"
    tags = httpx.get(f"http://{registry.host}/v2/{repository}/tags/list", timeout=5)
    assert tags.status_code == 404 or not tags.json().get("tags"), tags.text

    header = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    written = [done.stdout, done.stderr]
    written += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()]
    stored = registry.storage / "docker" / "registry" / "v2" / "repositories" / repository
    written += [p.read_bytes().decode("latin-1") for p in stored.rglob("*") if p.is_file()]
    for text in written:
        assert PASSWORD not in text and header not in text
