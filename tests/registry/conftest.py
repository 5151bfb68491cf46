"""Registries behind TLS and htpasswd, shared by the auth tests of this folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.registry import Registry
from tests.support.tls import HTPASSWD_PASSWORD, HTPASSWD_USER, TlsFiles, make_tls, write_htpasswd


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def htpasswd_registry(
    registry_factory: Callable[..., Registry], tls: TlsFiles, tmp_path: Path
) -> Registry:
    """A registry with a test CA's certificate that lets in ``HTPASSWD_USER`` only."""
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {HTPASSWD_USER: HTPASSWD_PASSWORD})
    return registry_factory(tls=tls.server, htpasswd=htpasswd)
