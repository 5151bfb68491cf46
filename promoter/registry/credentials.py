"""Credentials: what we may present to a registry, and where it came from.

A ``Credential`` never shows its secrets in ``repr`` or ``str``; its ``source``
says where it came from ("docker config /home/me/.docker/config.json (auths)",
"environment PROMOTER_REGISTRY_USERNAME/PASSWORD", ...) so an error can name the
source tried, never the secret.

Lookup for a host (``DefaultCredentials``), first match wins:

1. ``PROMOTER_REGISTRY_<HOST>_USERNAME`` / ``_PASSWORD`` (or ``_IDENTITY_TOKEN``),
   where ``<HOST>`` is the host with every character other than letters and
   digits replaced by ``_``, uppercased: ``127.0.0.1:5000`` -> ``127_0_0_1_5000``;
2. ``PROMOTER_REGISTRY_USERNAME`` / ``PROMOTER_REGISTRY_PASSWORD`` (or
   ``PROMOTER_REGISTRY_IDENTITY_TOKEN``), for every registry;
3. the registry's ``auth`` kind in pipeline.yml: ``azure`` (Entra ID -> ACR
   refresh token, see ``promoter.registry.azure``), ``github`` (``GITHUB_TOKEN``);
4. the Docker config (``promoter.registry.dockerconfig``): ``credHelpers``,
   ``credsStore``, ``auths``;
5. ``GITHUB_TOKEN`` for ``ghcr.io``;
6. anonymous.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ENV_IDENTITY_TOKEN",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "Credential",
    "CredentialProvider",
    "DefaultCredentials",
    "IdentityTokenFactory",
    "StaticCredentials",
    "env_credential",
    "host_env_prefix",
]

ENV_USERNAME = "PROMOTER_REGISTRY_USERNAME"
ENV_PASSWORD = "PROMOTER_REGISTRY_PASSWORD"
ENV_IDENTITY_TOKEN = "PROMOTER_REGISTRY_IDENTITY_TOKEN"

#: Makes an identity (refresh) token once the registry's challenge is known:
#: ``factory(realm, service, http_client)``. Azure's Entra ID exchange is one.
IdentityTokenFactory = Callable[[str, str, Any], str]


@dataclass(frozen=True)
class Credential:
    """A username and password, or an identity (refresh) token, for one registry."""

    username: str | None = field(default=None)
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = "unknown"
    identity_token_factory: IdentityTokenFactory | None = field(
        default=None, repr=False, compare=False
    )

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


def host_env_prefix(host: str) -> str:
    """``PROMOTER_REGISTRY_<HOST>_`` for a host: ``127.0.0.1:5000`` -> ``..._127_0_0_1_5000_``."""
    return "PROMOTER_REGISTRY_" + re.sub(r"[^A-Za-z0-9]", "_", host).upper() + "_"


def env_credential(host: str, environ: Mapping[str, str]) -> Credential | None:
    """A credential from ``PROMOTER_REGISTRY_*`` variables (per host first, then global)."""
    prefix = host_env_prefix(host)
    for user_var, pass_var, token_var in (
        (prefix + "USERNAME", prefix + "PASSWORD", prefix + "IDENTITY_TOKEN"),
        (ENV_USERNAME, ENV_PASSWORD, ENV_IDENTITY_TOKEN),
    ):
        token = environ.get(token_var)
        if token:
            return Credential(
                username=environ.get(user_var) or None,
                identity_token=token,
                source=f"environment {token_var}",
            )
        username, password = environ.get(user_var), environ.get(pass_var)
        if username and password:
            return Credential(username, password, source=f"environment {user_var}/{pass_var}")
    return None


def github_credential(environ: Mapping[str, str]) -> Credential | None:
    """``GITHUB_TOKEN`` (GitHub Actions) as a ghcr.io credential."""
    token = environ.get("GITHUB_TOKEN")
    if not token:
        return None
    username = environ.get("GITHUB_ACTOR") or "promoter"
    return Credential(username, token, source="environment GITHUB_TOKEN")


@dataclass
class DefaultCredentials:
    """The lookup described in the module docstring.

    ``auth_kinds`` maps a host to its pipeline ``auth`` kind; ``azure_token``
    overrides where Entra ID access tokens come from (tests inject one).
    """

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    auth_kinds: Mapping[str, str] = field(default_factory=dict)
    azure_token: Callable[[], str] | None = None

    def get(self, host: str) -> Credential | None:
        found = env_credential(host, self.environ)
        if found is not None:
            return found
        kind = self.auth_kinds.get(host, "docker-config")
        if kind == "azure":
            from promoter.registry.azure import azure_credential

            return azure_credential(host, self.environ, self.azure_token)
        if kind == "github":
            return github_credential(self.environ)
        if kind in ("basic", "token"):
            return None  # only the environment variables above may provide these
        from promoter.registry.dockerconfig import docker_config_credential

        found = docker_config_credential(host, self.environ)
        if found is not None:
            return found
        if host == "ghcr.io":
            return github_credential(self.environ)
        return None
