"""Where the credential for a registry host comes from.

Lookup for a host (``DefaultCredentials``), first match wins:

1. ``PROMOTER_REGISTRY_<HOST>_USERNAME`` / ``_PASSWORD`` (or ``_IDENTITY_TOKEN``, or
   ``_ENTRA_TOKEN``: an Entra ID access token for ACR's ``/oauth2/exchange``),
   where ``<HOST>`` is the host with every character other than letters and
   digits replaced by ``_``, uppercased: ``127.0.0.1:5000`` -> ``127_0_0_1_5000``;
2. the registry's ``auth`` in pipeline.yml: ``basic`` (the variables named by
   ``username_env`` and ``password_env``), ``token`` (an identity token in the
   variable named by ``token_env``), ``azure`` (Entra ID -> ACR refresh token,
   see ``promoter.registry.access.azure``), ``github`` (``token_env``, by default
   ``GITHUB_TOKEN``). A variable the pipeline names but the environment lacks
   is an error that names it, never a silent anonymous login;
3. ``PROMOTER_REGISTRY_USERNAME`` / ``PROMOTER_REGISTRY_PASSWORD`` (or
   ``PROMOTER_REGISTRY_IDENTITY_TOKEN``), for every registry;
4. the Docker config (``promoter.registry.access.dockerconfig``): ``credHelpers``,
   ``credsStore``, ``auths``; the pipeline's ``auth: {kind: docker-config,
   config: PATH}`` names another file than ``$DOCKER_CONFIG/config.json``;
5. ``GITHUB_TOKEN`` for ``ghcr.io``;
6. anonymous.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from promoter.environment import snapshot
from promoter.errors import ConfigError
from promoter.redaction import register_secret
from promoter.registry.access.credentials import Credential
from promoter.structs import field, struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.access.options import RegistryConfig

__all__ = ["ENV_PREFIX", "DefaultCredentials", "github_credential", "host_env_prefix"]

#: ``<PREFIX>USERNAME``/``PASSWORD``/``IDENTITY_TOKEN``, for every registry; the
#: per-host variables put the host between (``host_env_prefix``).
ENV_PREFIX = "PROMOTER_REGISTRY_"


def host_env_prefix(host: str) -> str:
    """``PROMOTER_REGISTRY_<HOST>_`` for a host: ``127.0.0.1:5000`` -> ``..._127_0_0_1_5000_``."""
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", host).upper() + "_"


def _env_pair(environ: Mapping[str, str], prefix: str, host: str) -> Credential | None:
    """A credential from ``<prefix>USERNAME``/``PASSWORD``, ``<prefix>IDENTITY_TOKEN``, or
    ``<prefix>ENTRA_TOKEN`` (an Entra ID access token, exchanged at ACR's /oauth2/exchange:
    what the Azure DevOps task passes for a workload identity or managed identity)."""
    user_var, pass_var, token_var = (prefix + n for n in ("USERNAME", "PASSWORD", "IDENTITY_TOKEN"))
    entra_var = prefix + "ENTRA_TOKEN"
    entra = environ.get(entra_var)
    if entra:
        register_secret(entra)
        # here, not at the top: the Entra ID exchange, for an ACR credential only (issue #24)
        from promoter.registry.access.azure import azure_credential

        return azure_credential(
            host, environ, lambda: entra, token_source=f"environment {entra_var}"
        )
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


def _named(environ: Mapping[str, str], config: RegistryConfig, *names: str | None) -> list[str]:
    """The values of the variables a pipeline names for a registry; an error, located
    where the pipeline declares the registry, for one that is missing."""
    values = []
    for name in names:
        value = environ.get(name) if name else None
        if not value:
            raise ConfigError(
                f"auth {config.auth} of {config.host} reads ${name}, which is not set or empty",
                file=config.file,
                line=config.line,
                column=config.column,
                path=f"registries.{config.alias}.auth" if config.alias else None,
                hint=f"export {name} (in CI, from a secret), or change the registry's auth",
            )
        values.append(value)
    return values


def github_credential(
    environ: Mapping[str, str], token_env: str = "GITHUB_TOKEN", username_env: str | None = None
) -> Credential | None:
    """``GITHUB_TOKEN`` (GitHub Actions), or the pipeline's ``token_env``, as a ghcr.io credential."""
    token = environ.get(token_env)
    if not token:
        return None
    username = (username_env and environ.get(username_env)) or environ.get("GITHUB_ACTOR")
    return Credential(username or "promoter", token, source=f"environment {token_env}")


@struct
class DefaultCredentials:
    """The lookup described in the module docstring.

    ``registries`` holds what pipeline.yml says per host (``RegistryConfig``);
    ``azure_token`` overrides where Entra ID access tokens come from (tests
    inject one).
    """

    environ: Mapping[str, str] = field(default_factory=snapshot)
    registries: Mapping[str, RegistryConfig] = field(default_factory=dict)
    azure_token: Callable[[], str] | None = None

    def get(self, host: str) -> Credential | None:
        found = _env_pair(self.environ, host_env_prefix(host), host)
        if found is not None:
            return found
        config = self.registries.get(host)
        found = self._from_pipeline(host, config) if config is not None else None
        if found is not None:
            return found
        found = _env_pair(self.environ, ENV_PREFIX, host)
        if found is not None:
            return found
        # here, not at the top: a registry that never asks for credentials never reads
        # a Docker config, and pathlib is about 1.5 ms of a command's start-up
        from pathlib import Path

        # here, not at the top: the Docker config's reader imports pathlib (above)
        from promoter.registry.access.dockerconfig import docker_config_credential

        path = config.docker_config if config is not None else None
        found = docker_config_credential(host, self.environ, Path(path) if path else None)
        if found is not None:
            return found
        if host == "ghcr.io":
            return github_credential(self.environ)
        return None

    def _from_pipeline(self, host: str, config: RegistryConfig) -> Credential | None:
        kind = config.auth
        if kind == "basic":
            username, password = _named(
                self.environ, config, config.username_env, config.password_env
            )
            source = f"environment {config.username_env}/{config.password_env} (pipeline auth)"
            return Credential(username, password, source=source)
        if kind == "token":
            (token,) = _named(self.environ, config, config.token_env)
            source = f"environment {config.token_env} (pipeline auth)"
            return Credential(identity_token=token, source=source)
        if kind == "github":
            token_env = config.token_env or "GITHUB_TOKEN"
            _named(self.environ, config, token_env)
            return github_credential(self.environ, token_env, config.username_env)
        if kind == "azure":
            # here, not at the top: the Entra ID exchange, for an ACR credential only (issue #24)
            from promoter.registry.access.azure import azure_credential

            return azure_credential(
                host,
                self.environ,
                self.azure_token,
                tenant=config.tenant,
                client_id=config.client_id,
            )
        return None
