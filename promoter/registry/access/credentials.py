"""Credentials: what we may present to a registry, and where it came from.

A ``Credential`` never shows its secrets in ``repr`` or ``str``; its ``source``
says where it came from ("docker config /home/me/.docker/config.json (auths)",
"environment PROMOTER_REGISTRY_USERNAME/PASSWORD", ...) so an error can name the
source tried, never the secret.

Where they come from for a host is ``promoter.registry.access.keychain``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from promoter.redaction import register_secret
from promoter.structs import Protocol, field, struct

__all__ = ["Credential", "CredentialProvider", "IdentityTokenFactory", "StaticCredentials"]

#: Makes an identity (refresh) token once the registry's challenge is known:
#: ``factory(realm, service, post)``, ``post(url, form) -> (status, body)`` sending a
#: form (a transport failure raised as ``NetworkError``). Azure's Entra ID exchange is one.
IdentityTokenFactory = Callable[[str, str, object], str]


@struct(frozen=True)
class Credential:
    """A username and password, or an identity (refresh) token, for one registry."""

    username: str | None = field(default=None)
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = "unknown"
    identity_token_factory: IdentityTokenFactory | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Hidden from every output from the moment it exists (CI masks it too).
        register_secret(self.password)
        register_secret(self.identity_token)
        if self.username and self.password:  # what a Basic header carries, base64-encoded
            register_secret(f"{self.username}:{self.password}")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value this credential holds (for masking and leak checks)."""
        return tuple(s for s in (self.password, self.identity_token) if s)

    def __str__(self) -> str:
        return f"credential from {self.source}"


class CredentialProvider(Protocol):
    """Finds the credential for a registry host, or None for anonymous access."""

    def get(self, host: str) -> Credential | None:
        """The credential for ``host`` (``HOST[:PORT]``), or None."""
        ...


@struct(frozen=True)
class StaticCredentials:
    """A fixed host -> credential table (programmatic use and tests)."""

    table: Mapping[str, Credential]

    def get(self, host: str) -> Credential | None:
        return self.table.get(host)
