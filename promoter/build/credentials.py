"""The registry credentials a build needs, and the private Docker config that carries them.

Only the registries the build itself talks to get credentials: the base
images' registries, the cache repository's, and the destinations' when kaniko
pushes. The config is written into a fresh directory (0700, file 0600),
mounted read-only into the executor, and removed afterwards whatever happens.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.build.dockerfile import base_images
from promoter.build.spec import BuildSpec
from promoter.errors import BuildError
from promoter.structs import field, struct

if TYPE_CHECKING:
    from promoter.registry.access.credentials import CredentialProvider

__all__ = [
    "DOCKER_HUB_CONFIG_KEY",
    "CredentialLookup",
    "RegistryCredential",
    "collect_credentials",
    "lookup_from_provider",
    "private_docker_config",
    "registry_host",
    "required_registries",
]

#: The key Docker (and kaniko's keychain) use for Docker Hub in a Docker config.
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"


@struct(frozen=True)
class RegistryCredential:
    """A login for one registry host. The secret never appears in ``repr``."""

    host: str
    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)

    def config_entry(self) -> dict[str, str]:
        """This credential as an entry of a Docker config's ``auths``."""
        entry: dict[str, str] = {}
        if self.username or self.password:
            raw = f"{self.username}:{self.password}".encode()
            entry["auth"] = base64.b64encode(raw).decode("ascii")
        if self.identity_token:
            entry["identitytoken"] = self.identity_token
        return entry


#: Given a registry host, the credential to use for it, or None for anonymous.
CredentialLookup = Callable[[str], "RegistryCredential | None"]


def registry_host(reference: str) -> str:
    """The registry host of an image reference, Docker's way (``docker.io`` by default)."""
    name = reference.split("@", 1)[0]
    first, slash, _ = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _config_key(host: str) -> str:
    if host in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return DOCKER_HUB_CONFIG_KEY
    return host


def required_registries(spec: BuildSpec, dockerfile_text: str) -> list[str]:
    """The registry hosts this build reads from or writes to, in first-use order."""
    hosts: list[str] = []
    references = list(base_images(dockerfile_text, dict(spec.build_args)))
    if spec.cache is not None:
        references.append(spec.cache.repo)
    if spec.push == "kaniko":
        references.extend(spec.destinations)
    for reference in references:
        host = registry_host(reference)
        if host not in hosts:
            hosts.append(host)
    return hosts


def lookup_from_provider(provider: CredentialProvider) -> CredentialLookup:
    """A build's credential lookup over the registry layer's provider (env, Docker config, ...)."""

    def lookup(host: str) -> RegistryCredential | None:
        found = provider.get(host)
        if found is None:
            return None
        return RegistryCredential(
            host,
            username=found.username or "",
            password=found.password or "",
            identity_token=found.identity_token or "",
        )

    return lookup


def collect_credentials(
    hosts: Iterable[str], lookup: CredentialLookup | None
) -> list[RegistryCredential]:
    """The credentials ``lookup`` knows for ``hosts``; hosts without one stay anonymous."""
    if lookup is None:
        return []
    found: list[RegistryCredential] = []
    for host in hosts:
        credential = lookup(host)
        if credential is not None:
            found.append(credential)
    return found


@contextmanager
def private_docker_config(
    credentials: Iterable[RegistryCredential], parent: Path | None = None
) -> Iterator[Path]:
    """A directory holding ``config.json`` with exactly ``credentials``; removed on exit."""
    auths = {_config_key(c.host): c.config_entry() for c in credentials}
    try:
        directory = Path(tempfile.mkdtemp(prefix="promoter-docker-config-", dir=parent))
    except OSError as error:
        raise BuildError(f"cannot create a private Docker config directory: {error}") from error
    try:
        os.chmod(directory, 0o700)
        descriptor = os.open(directory / "config.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"auths": auths}, handle, indent=1, sort_keys=True)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
