"""A long wait a registry asks for is said on stderr as it starts (and not under --quiet)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import isolated_env, run_cli
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.images import make_image, push_http
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


@pytest.mark.parametrize("quiet", [False, True])
def test_a_long_retry_after_is_announced(quiet: bool, registry: Registry, tmp_path: Path) -> None:
    image = make_image(seed=f"wait-notice-{quiet}")
    push_http(image, registry.url, "wait-notice", "1")
    with FaultProxy(registry.host) as proxy:
        host = proxy.host
        proxy.add(Fault("status", method="GET", path="/manifests/1", status=429, retry_after="4"))
        args = ["copy", f"{proxy.host}/wait-notice:1", f"{registry.host}/wait-copy:{quiet}"]
        args += ["--insecure-registry", proxy.host, "--insecure-registry", registry.host]
        args += ["--output", "json", *(["--quiet"] if quiet else [])]
        done = run_cli(args, cwd=tmp_path, env=isolated_env(tmp_path, {}))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["digest"] == image.digest
    notes = [line for line in done.stderr.splitlines() if line.startswith("note: ")]
    if quiet:
        assert notes == []
    else:
        (note,) = notes
        assert host in note and "4 s" in note
