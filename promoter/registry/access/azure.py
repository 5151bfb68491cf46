"""``auth: azure``: Entra ID access token -> ACR refresh token -> ACR access token.

1. An Entra ID access token for ``https://containerregistry.azure.net/.default``
   comes from ``PROMOTER_AZURE_ACCESS_TOKEN`` when set (a token obtained
   elsewhere, e.g. ``az account get-access-token``), else from azure-identity's
   ``DefaultAzureCredential`` (the optional extra ``promoter[azure]``: managed
   identity, workload identity federation, Azure CLI, environment).
2. ``POST https://<registry>/oauth2/exchange`` (``grant_type=access_token``,
   ``service``, ``access_token``, and ``tenant``: the pipeline's, else
   ``AZURE_TENANT_ID`` when set)
   answers ``{"refresh_token": ...}``.
3. That refresh token is an identity token: the bearer flow then calls
   ``POST /oauth2/token`` (``grant_type=refresh_token``) per scope, as for any
   registry (``promoter.registry.transport.auth``).

The exchange endpoint sits next to the token realm the registry announces.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from promoter.errors import AuthError
from promoter.redaction import register_secret
from promoter.registry.access.credentials import Credential

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ACR_USERNAME", "ENTRA_SCOPE", "ENV_AZURE_TOKEN", "azure_credential", "exchange_url"]

ENTRA_SCOPE = "https://containerregistry.azure.net/.default"
ENV_AZURE_TOKEN = "PROMOTER_AZURE_ACCESS_TOKEN"
#: The user name ACR expects with a refresh token.
ACR_USERNAME = "00000000-0000-0000-0000-000000000000"


def exchange_url(realm: str) -> str:
    """``/oauth2/exchange`` on the realm's origin."""
    parts = urlsplit(realm)
    return urlunsplit((parts.scheme, parts.netloc, "/oauth2/exchange", "", ""))


def _azure_cli_token(az: str, tenant: str | None, environ: Mapping[str, str]) -> str:
    """An Entra ID token from the Azure CLI's login (``az login``, or azure/login on CI);
    the CLI runs in ``environ``."""
    import json
    import subprocess

    args = [az, "account", "get-access-token", "--scope", ENTRA_SCOPE, "--output", "json"]
    if tenant:
        args += ["--tenant", tenant]
    try:
        done = subprocess.run(
            args, capture_output=True, timeout=120, check=False, env=dict(environ)
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AuthError(f"no Entra ID token from the Azure CLI: {type(error).__name__}") from None
    token = None
    if done.returncode == 0:
        try:
            token = json.loads(done.stdout).get("accessToken")
        except (ValueError, AttributeError):
            token = None
    if not isinstance(token, str) or not token:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AuthError(
            "no Entra ID token from the Azure CLI (az account get-access-token"
            + (f": {said[0][:200]})" if said else ")"),
            hint="log in with az login (on CI: azure/login), or install promoter[azure]",
        )
    register_secret(token)
    return token


def _default_entra_token(
    client_id: str | None = None,
    tenant: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """An Entra ID token: azure-identity's DefaultAzureCredential when the ``azure``
    extra is installed, else the Azure CLI's login (what azure/login leaves on CI)."""
    import importlib
    import shutil

    try:
        # Imported by name: the optional extra may be absent where mypy runs.
        identity: Any = importlib.import_module("azure.identity")
    except ImportError:
        path = (environ or {}).get("PATH")
        az = shutil.which("az", path=path)
        if az is not None:
            return _azure_cli_token(az, tenant, environ or {})
        raise AuthError(
            "auth: azure needs the azure-identity package or the Azure CLI (az)",
            hint="pip install 'promoter[azure]', log in with az, or set PROMOTER_AZURE_ACCESS_TOKEN",
        ) from None
    try:
        # A pipeline's client_id picks a user-assigned managed identity or the
        # workload identity's app; its tenant, the workload identity's tenant.
        chosen: dict[str, str] = {}
        if client_id:
            chosen["managed_identity_client_id"] = client_id
            chosen["workload_identity_client_id"] = client_id
        if tenant:
            chosen["workload_identity_tenant_id"] = tenant
        token = identity.DefaultAzureCredential(**chosen).get_token(ENTRA_SCOPE)
    except Exception as error:  # azure-identity raises several unrelated classes
        raise AuthError(
            f"no Entra ID token from DefaultAzureCredential: {type(error).__name__}",
            hint="log in (az login), or configure a managed or workload identity",
        ) from None
    return str(token.token)


def azure_credential(
    host: str,
    environ: Mapping[str, str],
    entra_token: Callable[[], str] | None = None,
    *,
    tenant: str | None = None,
    client_id: str | None = None,
    token_source: str | None = None,
) -> Credential:
    """A credential whose identity token is made by the ACR exchange when first needed.

    ``tenant`` and ``client_id`` are the pipeline's (``auth: {kind: azure, ...}``);
    without them azure-identity reads ``AZURE_TENANT_ID``/``AZURE_CLIENT_ID``.
    """
    source, get_token = _entra_token(environ, entra_token, tenant, client_id, token_source)
    exchange_tenant = tenant or environ.get("AZURE_TENANT_ID")

    def exchange(realm: str, service: str, post: object) -> str:
        form = {
            "grant_type": "access_token",
            "service": service or host,
            "access_token": get_token(),
        }
        if exchange_tenant:
            form["tenant"] = exchange_tenant
        return _refresh_token(host, exchange_url(realm), form, post, source)

    return Credential(
        username=ACR_USERNAME,
        source=f"{source} via ACR /oauth2/exchange",
        identity_token_factory=exchange,
    )


def _entra_token(
    environ: Mapping[str, str],
    entra_token: Callable[[], str] | None,
    tenant: str | None,
    client_id: str | None,
    token_source: str | None,
) -> tuple[str, Callable[[], str]]:
    """Where the Entra ID token comes from (for messages), and how to get it."""
    if entra_token is not None:
        return f"Azure Entra ID token from {token_source or 'the caller'}", entra_token
    value = environ.get(ENV_AZURE_TOKEN)
    if value:
        register_secret(value)
        return f"Azure Entra ID token from {ENV_AZURE_TOKEN}", lambda: value
    source = "Azure Entra ID (azure-identity DefaultAzureCredential, else the Azure CLI"
    source += f", client id {client_id})" if client_id else ")"
    return source, lambda: _default_entra_token(client_id, tenant, environ)


def _refresh_token(host: str, url: str, form: dict[str, str], post: Any, source: str) -> str:
    """``POST`` the exchange form to ``url`` (``post(url, form) -> (status, body)``, a
    transport failure raised as ``NetworkError``); the ACR refresh token it answers."""
    status, body = post(url, form)
    refresh = None
    if status == 200:
        try:
            refresh = json.loads(body).get("refresh_token")
        except (ValueError, AttributeError):
            refresh = None
    if not isinstance(refresh, str) or not refresh:
        raise AuthError(
            f"{host}: the registry refused the Entra ID token at /oauth2/exchange (HTTP {status})",
            status=status,
            code="UNAUTHORIZED",
            reference=host,
            detail=f"credentials tried: {source}",
            hint="check that the identity has AcrPull/AcrPush on this registry",
        )
    return refresh
