"""The policy tests' own registry: a real docker-registry that also accepts foreign layers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.policy.crafting import allow_foreign_layers
from tests.support.real_parts import require
from tests.support.registry import Registry, registry_missing_reason, start_registry


@pytest.fixture(scope="module")
def policy_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A plain-HTTP registry on 127.0.0.1 for one test module, foreign-layer URLs allowed."""
    require(registry_missing_reason())
    registry = start_registry(tmp_path_factory.mktemp("policy-registry"))
    try:
        allow_foreign_layers(registry)
        yield registry
    finally:
        registry.stop()
