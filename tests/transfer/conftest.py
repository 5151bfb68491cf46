"""Fixtures for the copy tests: a second registry, a fault proxy, a CLI runner."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.fault_proxy import FaultProxy
from tests.support.real_parts import require, skopeo_raw, tool_missing
from tests.support.registry import Registry


def _require(tool: str, reason: str | None = None) -> None:
    require(reason or tool_missing(tool))


@pytest.fixture
def repo() -> Callable[[str], str]:
    """A fresh repository name per call (the session registry is shared)."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}/{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture(scope="session")
def other_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A second plain-HTTP registry for cross-registry copies."""
    from tests.support.registry import registry_missing_reason, start_registry

    missing = registry_missing_reason()
    if missing is not None:
        _require("docker-registry", missing)
    reg = start_registry(tmp_path_factory.mktemp("other-registry"))
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def proxy(registry: Registry) -> Iterator[FaultProxy]:
    """A fault-injecting, counting proxy in front of the session registry."""
    with FaultProxy(registry.host) as running:
        yield running


@pytest.fixture
def other_proxy(other_registry: Registry) -> Iterator[FaultProxy]:
    """A fault-injecting, counting proxy in front of the second registry."""
    with FaultProxy(other_registry.host) as running:
        yield running


@pytest.fixture
def skopeo() -> str:
    """The skopeo binary (skip, or fail under CI, when missing)."""
    _require("skopeo")
    return "skopeo"


@pytest.fixture
def umoci() -> str:
    """The umoci binary (skip, or fail under CI, when missing)."""
    _require("umoci")
    return "umoci"


@dataclass
class CliRun:
    """A finished ``promoter`` process."""

    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def run_promoter(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> CliRun:
    """Run ``python -m promoter ARGS`` and capture everything."""
    done = run_cli(args, timeout=timeout, env={**os.environ, **(env or {})})
    return CliRun(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def promoter() -> Callable[..., CliRun]:
    """``promoter(*args)`` runs the CLI in a subprocess."""
    return run_promoter


def skopeo_digest(reference: str) -> str:
    """The digest of what ``skopeo inspect --raw`` reads at ``docker://reference``."""
    from tests.support.images import digest_of

    return digest_of(skopeo_raw(reference))
