"""Shared fixtures: real registries (Debian's docker-registry) on loopback ports.

``registry``         one plain-HTTP registry for the whole session (``.host``, ``.url``).
``registry_factory`` a function-scoped factory for extra registries (TLS, htpasswd,
                     token auth); every registry it started is killed at teardown.

When the binary is missing the tests that need it are skipped with the reason,
except under CI (``CI=true``), where they fail: CI must have every real part.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# --import-mode=importlib does not put the repository on sys.path; the test
# support package (tests/support) is imported as ``tests.support``.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.real_parts import require as require_tool  # noqa: E402
from tests.support.registry import (  # noqa: E402
    Registry,
    registry_missing_reason,
    start_registry,
)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """One plain-HTTP registry on 127.0.0.1 shared by the session."""
    require_tool(registry_missing_reason())
    reg = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def registry_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Registry]]:
    """Start extra registries: ``registry_factory(tls=..., htpasswd=..., token=...)``."""
    require_tool(registry_missing_reason())
    started: list[Registry] = []

    def make(**options: Any) -> Registry:
        reg = start_registry(tmp_path_factory.mktemp("registry"), **options)
        started.append(reg)
        return reg

    try:
        yield make
    finally:
        for reg in started:
            reg.stop()
