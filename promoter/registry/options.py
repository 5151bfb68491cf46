"""How to reach registries: TLS, insecure hosts, retries, bounds, credentials.

One ``RegistryOptions`` is shared by every client of a run; ``RegistryConfig``
holds what one registry alias of pipeline.yml says about its host.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promoter.registry.retry import RetryPolicy

if TYPE_CHECKING:
    from promoter.registry.credentials import CredentialProvider

__all__ = [
    "INSECURE_ENV",
    "RegistryConfig",
    "RegistryOptions",
    "insecure_from_env",
    "is_loopback",
    "normalize_host",
]

#: Comma-separated ``HOST[:PORT]`` list of registries reached without TLS verification.
INSECURE_ENV = "PROMOTER_INSECURE_REGISTRIES"


def normalize_host(host: str) -> str:
    """``HOST[:PORT]`` in lowercase without a scheme or trailing slash."""
    host = host.strip().lower()
    for scheme in ("https://", "http://"):
        host = host.removeprefix(scheme)
    return host.rstrip("/")


def _bare_host(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    """Whether ``host[:port]`` is on this machine: 127.0.0.0/8, ::1 or localhost."""
    bare = _bare_host(normalize_host(host))
    if bare == "localhost" or bare.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def insecure_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The hosts listed in ``PROMOTER_INSECURE_REGISTRIES``."""
    value = (environ if environ is not None else os.environ).get(INSECURE_ENV, "")
    return frozenset(normalize_host(h) for h in value.split(",") if h.strip())


@dataclass(frozen=True)
class RegistryConfig:
    """What pipeline.yml says about one registry host."""

    host: str
    insecure: bool = False
    auth: str = "docker-config"  # docker-config | azure | github | basic | token


@dataclass
class RegistryOptions:
    """Settings shared by every registry client of one run.

    ``transport`` is a test seam: an ``httpx.BaseTransport`` that every client
    sends through (the fault-injecting tests wrap the real one).
    """

    insecure_registries: frozenset[str] = frozenset()
    ca_file: str | None = None
    registries: Mapping[str, RegistryConfig] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 8
    connect_timeout: float = 15.0
    stall_timeout: float = 60.0
    chunk_size: int = 4 * 1024 * 1024
    credentials: CredentialProvider | None = None
    transport: Any = None
    user_agent: str = "promoter"

    @classmethod
    def from_environment(
        cls,
        *,
        insecure_registries: Iterable[str] = (),
        ca_file: str | None = None,
        registries: Iterable[RegistryConfig] = (),
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> RegistryOptions:
        """Options from command-line values plus ``PROMOTER_INSECURE_REGISTRIES``."""
        insecure = {normalize_host(h) for h in insecure_registries} | insecure_from_env(environ)
        configs = {normalize_host(c.host): c for c in registries}
        insecure |= {host for host, config in configs.items() if config.insecure}
        return cls(
            insecure_registries=frozenset(insecure),
            ca_file=ca_file,
            registries=configs,
            **overrides,
        )

    def is_insecure(self, host: str) -> bool:
        """Whether ``host`` was declared insecure (plain HTTP or unverified TLS)."""
        host = normalize_host(host)
        return host in self.insecure_registries or _bare_host(host) in self.insecure_registries

    def config_for(self, host: str) -> RegistryConfig:
        """The pipeline's settings for ``host``, or the defaults."""
        return self.registries.get(normalize_host(host)) or RegistryConfig(normalize_host(host))
