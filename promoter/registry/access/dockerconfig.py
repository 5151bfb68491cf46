"""Credentials from the Docker config: ``auths``, ``credsStore``, ``credHelpers``.

The config is ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``.
Helpers speak the ``docker-credential-<name> get`` protocol: the server name on
stdin, ``{"ServerURL", "Username", "Secret"}`` on stdout; a ``Username`` of
``<token>`` means ``Secret`` is an identity token. Secrets never go on argv.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path

from promoter.errors import AuthError, ConfigError
from promoter.registry.access.credentials import Credential

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["DOCKER_HUB_KEY", "config_path", "docker_config_credential", "helper_credential"]

#: The key Docker uses for Docker Hub in ``auths`` and for helpers.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HELPER_TIMEOUT = 30


def config_path(environ: Mapping[str, str]) -> Path:
    """Where the Docker config is read from."""
    directory = environ.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".docker" / "config.json"


def _load(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise ConfigError(f"unreadable Docker config: {error}", file=str(path)) from None
    if not isinstance(document, dict):
        raise ConfigError("the Docker config is not a JSON object", file=str(path))
    return document


def _keys_for(host: str) -> tuple[str, ...]:
    if host in _HUB_HOSTS:
        return (DOCKER_HUB_KEY, "docker.io", "index.docker.io", "registry-1.docker.io")
    return (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/")


def _lookup(table: object, host: str) -> tuple[str, object] | None:
    if not isinstance(table, dict):
        return None
    for key in _keys_for(host):
        if key in table:
            return key, table[key]
    return None


def docker_config_credential(
    host: str, environ: Mapping[str, str], path: Path | None = None
) -> Credential | None:
    """The credential for ``host`` in the Docker config at ``path`` (default: ``config_path``)."""
    path = path or config_path(environ)
    document = _load(path)
    if not document:
        return None
    server = DOCKER_HUB_KEY if host in _HUB_HOSTS else host
    helper = _lookup(document.get("credHelpers"), host)
    if helper is not None and isinstance(helper[1], str) and helper[1]:
        return helper_credential(helper[1], server, environ, f"{path} (credHelpers)")
    store = document.get("credsStore")
    if isinstance(store, str) and store:
        found = helper_credential(store, server, environ, f"{path} (credsStore)")
        if found is not None:
            return found
    entry = _lookup(document.get("auths"), host)
    if entry is None or not isinstance(entry[1], dict):
        return None
    return _auths_entry(entry[1], f"docker config {path} (auths)", path)


def _auths_entry(entry: Mapping[str, Any], source: str, path: Path) -> Credential | None:
    token = entry.get("identitytoken")
    username = entry.get("username")
    password = entry.get("password")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ConfigError(
                "an auths entry has an invalid 'auth' value", file=str(path)
            ) from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise ConfigError(
                "an auths entry's 'auth' is not base64(user:password)", file=str(path)
            )
    if isinstance(token, str) and token:
        return Credential(username=username or None, identity_token=token, source=source)
    if username and password:
        return Credential(str(username), str(password), source=source)
    return None


def helper_credential(
    name: str, server: str, environ: Mapping[str, str], where: str
) -> Credential | None:
    """Ask ``docker-credential-<name> get`` for ``server``; None when it has nothing."""
    # here, not at the top: only a credential helper runs a process; subprocess, shutil
    # and selectors are 3 ms of every start otherwise
    import shutil
    import subprocess

    program = f"docker-credential-{name}"
    source = f"credential helper {program} ({where})"
    executable = shutil.which(program, path=environ.get("PATH", os.defpath))
    if executable is None:
        raise AuthError(
            f"credential helper {program} not found on PATH",
            detail=f"named in {where}",
            hint=f"install {program} or remove it from the Docker config",
        )
    try:
        result = subprocess.run(
            [executable, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=_HELPER_TIMEOUT,
            env=dict(environ),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AuthError(f"credential helper {program} failed: {type(error).__name__}") from None
    if result.returncode != 0:
        # The protocol's "not found" answer is a non-zero exit; anything else is an error.
        text = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
        if "not found" in text.lower():
            return None
        raise AuthError(
            f"credential helper {program} failed for {server} (exit {result.returncode})",
            hint="run the helper by hand to see why; its output is not shown to keep secrets out",
        )
    try:
        answer = json.loads(result.stdout)
        username = str(answer.get("Username") or "")
        secret = str(answer.get("Secret") or "")
    except (ValueError, AttributeError):
        raise AuthError(f"credential helper {program} answered with invalid JSON") from None
    if not secret:
        return None
    if username == "<token>":
        return Credential(identity_token=secret, source=source)
    return Credential(username, secret, source=source)
