"""Registries behind TLS and htpasswd, and the token server, shared by the auth tests."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.registry import Registry
from tests.support.tls import HTPASSWD_PASSWORD, HTPASSWD_USER, TlsFiles, make_tls, write_htpasswd
from tests.support.token_server import TokenServer


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


@pytest.fixture
def token_server(tmp_path: Path) -> Iterator[TokenServer]:
    """The test token server: ``HTPASSWD_USER`` may pull, push and delete, ``reader`` pull."""
    server = TokenServer(
        users={
            HTPASSWD_USER: (HTPASSWD_PASSWORD, ("pull", "push", "delete")),
            "reader": ("r-pass", ("pull",)),
        },
        entra_token="entra-" + secrets.token_hex(10),
    ).start(tmp_path / "token")
    yield server
    server.stop()
