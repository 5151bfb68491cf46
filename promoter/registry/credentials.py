"""Credentials: what we may present to a registry, and where it came from.

A ``Credential`` never shows its secrets in ``repr`` or ``str``; its ``source``
says where it came from ("docker config ~/.docker/config.json (auths)",
"environment PROMOTER_REGISTRY_USERNAME/PASSWORD", ...) so errors can name the
source tried without the secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Credential",
    "CredentialProvider",
    "StaticCredentials",
]


@dataclass(frozen=True)
class Credential:
    """A username and password, or an identity (refresh) token, for one registry."""

    username: str | None = field(default=None)
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = "unknown"

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


@dataclass(frozen=True)
class StaticCredentials:
    """A fixed host -> credential table (programmatic use and tests)."""

    table: Mapping[str, Credential]

    def get(self, host: str) -> Credential | None:
        return self.table.get(host)
