"""The registry fixtures start a real distribution registry that answers /v2/."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

from tests.support.registry import Registry


def test_session_registry_answers(registry: Registry) -> None:
    with urllib.request.urlopen(f"{registry.url}/v2/", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert registry.host.startswith("127.0.0.1:")


def test_factory_registry_restarts(registry_factory: Callable[..., Registry]) -> None:
    reg = registry_factory()
    reg.restart()
    with urllib.request.urlopen(f"{reg.url}/v2/_catalog", timeout=5) as response:
        assert response.status == 200
    reg.stop()
    assert reg.process is None
