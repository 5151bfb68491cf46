"""The catalog (``promoter.registry.remote.catalog``) on a real token-auth registry: the
plan's one read asks the ``registry:catalog:*`` scope; a token that does not grant it
leaves the catalog unknown (None), never an error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from promoter.registry import RegistryClient, RegistryOptions
from promoter.registry.access.keychain import DefaultCredentials
from promoter.registry.remote.catalog import CATALOG_SCOPE, read_catalog
from tests.support.images import make_image
from tests.support.oci_store import push_with_client
from tests.support.registry import Registry
from tests.support.token_server import TokenServer

pytestmark = pytest.mark.registry


@pytest.fixture
def catalog_tokens(tmp_path: Path) -> Iterator[TokenServer]:
    """``admin`` may do anything (``*``: the catalog too), ``writer`` pull and push."""
    server = TokenServer(
        users={"admin": ("a-pass", ("pull", "push", "*")), "writer": ("w-pass", ("pull", "push"))}
    ).start(tmp_path / "token")
    yield server
    server.stop()


def _client(registry: Registry, user: str, password: str) -> RegistryClient:
    environ = {"PROMOTER_REGISTRY_USERNAME": user, "PROMOTER_REGISTRY_PASSWORD": password}
    options = RegistryOptions(credentials=DefaultCredentials(environ=environ))
    return RegistryClient(registry.host, options)


def test_a_granted_catalog_scope_reads_the_page(
    registry_factory: Callable[..., Registry], catalog_tokens: TokenServer
) -> None:
    registry = registry_factory(token=catalog_tokens.token_auth_config())
    with _client(registry, "admin", "a-pass") as client:
        push_with_client(client, make_image(seed="cat"), "team/app", "v1")
        page = read_catalog(client.transport, ["team/app", "team/new"])
    assert page is not None
    assert page.names == {"team/app"} and page.after == "team/" and page.through is None
    assert page.absent("team/new") and not page.absent("team/app")
    assert (CATALOG_SCOPE,) in {r.scopes for r in catalog_tokens.requests}


def test_a_token_without_the_catalog_scope_leaves_it_unknown(
    registry_factory: Callable[..., Registry], catalog_tokens: TokenServer
) -> None:
    registry = registry_factory(token=catalog_tokens.token_auth_config())
    with _client(registry, "writer", "w-pass") as client:
        push_with_client(client, make_image(seed="cat"), "team/app", "v1")
        asked = len(catalog_tokens.requests)
        assert read_catalog(client.transport, ["team/app", "team/new"]) is None
    # the auth flow's own: a token for the scope (granted nothing), the registry's 401,
    # one fresh token and a second 401 (as for any request); then no retry
    asked_after = catalog_tokens.requests[asked:]
    assert [r.scopes for r in asked_after] == [(CATALOG_SCOPE,)] * 2, asked_after
