"""How to reach registries: TLS, insecure hosts, retries, bounds, credentials.

One ``RegistryOptions`` is shared by every client of a run; ``RegistryConfig``
holds what one registry alias of pipeline.yml says about its host.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping

from promoter.environment import snapshot
from promoter.errors import InputError
from promoter.notices import tell
from promoter.registry.access.retry import RetryPolicy
from promoter.registry.access.trust import TrustRoots
from promoter.settings import (
    INSECURE_ENV,
    MAX_RPS_ENV,
    SPEED_LIMIT_ENV,
    SPEED_TIME_ENV,
    TIMEOUT_ENV,
    Settings,
)
from promoter.structs import field, struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from promoter.registry.access.credentials import CredentialProvider
    from promoter.registry.access.trust import TrustRoots

__all__ = [
    "EXCHANGE_DEADLINE",
    "INSECURE_ENV",
    "MAX_RPS_ENV",
    "SPEED_LIMIT",
    "SPEED_LIMIT_ENV",
    "SPEED_TIME",
    "SPEED_TIME_ENV",
    "TIMEOUT_ENV",
    "RegistryConfig",
    "RegistryOptions",
    "configs_from_settings",
    "insecure_from_env",
    "is_loopback",
    "normalize_host",
    "parse_rate_limits",
]

#: The default whole-exchange deadline of a small exchange, in seconds.
EXCHANGE_DEADLINE = 60.0
#: The default speed floor of a blob transfer: 1 KiB/s on average ...
SPEED_LIMIT = 1024.0
#: ... over every 60 seconds (as curl's ``--speed-limit 1024 --speed-time 60``).
SPEED_TIME = 60.0


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


def insecure_from_env(environ: Mapping[str, str]) -> frozenset[str]:
    """The hosts ``environ`` lists in ``PROMOTER_INSECURE_REGISTRIES``."""
    value = environ.get(INSECURE_ENV, "")
    return frozenset(normalize_host(h) for h in value.split(",") if h.strip())


@struct(frozen=True)
class RegistryConfig:
    """What pipeline.yml says about one registry host: names and paths, never secrets.

    ``auth`` is the kind; the ``*_env`` fields name the environment variables
    that hold the secrets (``basic``: username and password; ``token``: an
    identity token; ``github``: the token, and optionally the user name).
    ``tenant`` and ``client_id`` choose the Entra ID identity of ``azure``;
    ``docker_config`` a Docker config file of its own; ``ca_file`` the CA
    bundle this registry's certificate is checked against (besides the roots).
    ``requests_per_second`` and ``max_concurrency`` are its request budget
    (``limits`` in pipeline.yml; None: the run's defaults).
    """

    host: str
    insecure: bool = False
    auth: str = "docker-config"  # docker-config | azure | github | basic | token
    username_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    tenant: str | None = None
    client_id: str | None = None
    docker_config: str | None = None
    ca_file: str | None = None
    requests_per_second: float | None = None
    max_concurrency: int | None = None
    #: Where pipeline.yml declares the registry, for errors: alias, file, line, column.
    alias: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None

    @classmethod
    def from_settings(cls, host: str, settings: Mapping[str, object]) -> RegistryConfig:
        """From a host's settings as a pipeline gives them and a plan file keeps them."""

        def text(key: str) -> str | None:
            value = settings.get(key)
            return str(value) if value else None

        def number(key: str) -> int | None:
            value = settings.get(key)
            return value if isinstance(value, int) and value > 0 else None

        def rate(key: str) -> float | None:
            value = settings.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            return float(value) if math.isfinite(value) and value > 0 else None

        return cls(
            host=host,
            insecure=bool(settings.get("insecure", False)),
            auth=str(settings.get("auth") or "docker-config"),
            username_env=text("usernameEnv"),
            password_env=text("passwordEnv"),
            token_env=text("tokenEnv"),
            tenant=text("tenant"),
            client_id=text("clientId"),
            docker_config=text("dockerConfig"),
            ca_file=text("caFile"),
            requests_per_second=rate("requestsPerSecond"),
            max_concurrency=number("maxConcurrency"),
            alias=text("alias"),
            file=text("file"),
            line=number("line"),
            column=number("column"),
        )


def configs_from_settings(hosts: Mapping[str, Mapping[str, object]]) -> list[RegistryConfig]:
    """``RegistryConfig`` per host of a host -> settings table (``Pipeline.registry_settings``)."""
    return [RegistryConfig.from_settings(host, values) for host, values in hosts.items()]


def _seconds(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or number == float("inf"):
        raise InputError(f"{name}={value}: expected a positive number")
    return number


#: ``HOST[:PORT]`` as ``--max-rps`` takes it (a name, an IPv4 or a bracketed IPv6 address).
#: (The text: ``re`` compiles it at first use; a copy without ``--max-rps`` reads none.)
_HOST = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?\Z"


#: The highest request rate a budget names (as pipeline.yml's schema allows).
MAX_RATE = 100_000


def parse_rate_limits(entries: Iterable[str], source: str = "--max-rps") -> dict[str, float]:
    """``HOST=N`` entries (``--max-rps``, ``PROMOTER_MAX_RPS``) -> host -> requests per second.

    A later entry for the same host wins. ``InputError`` names the entry and the form.
    """
    limits: dict[str, float] = {}
    for entry in entries:
        host, sep, number = entry.strip().partition("=")
        try:
            value = float(number) if sep else math.nan
        except ValueError:
            value = math.nan
        if not re.match(_HOST, host.strip()) or not (0 < value <= MAX_RATE):
            joint = " " if source.startswith("-") else "="
            raise InputError(
                f"{source} {entry.strip()!r}: expected HOST=N, N requests per second above 0 "
                f"and at most {MAX_RATE:g}",
                hint=f"like {source}{joint}myregistry.azurecr.io=50",
            )
        limits[normalize_host(host)] = value
    return limits


def _tell_wait(line: str) -> None:
    """Tell a long wait to whoever shows notes (the CLI), or as a ``promoter.registry`` warning."""
    tell("promoter.registry", line)


def _trust_roots() -> TrustRoots:
    return TrustRoots()


@struct
class RegistryOptions:
    """Settings shared by every registry client of one run.

    ``transport`` is a test seam: a ``promoter.registry.transport.wire.Sender`` that
    every client sends through instead of its pooled connections (the
    fault-injecting tests wrap real ones).
    ``exchange_deadline`` bounds a whole small exchange (ping, token, manifest,
    index, error body); a blob transfer fails when it moves less than
    ``speed_limit`` bytes/s on average over ``speed_time`` seconds.
    ``on_wait`` hears, as it starts, every wait of the retries longer than
    ``promoter.registry.access.retry.WAIT_NOTICE`` seconds (one sentence); by default
    it is a note (``promoter.notices``), which the CLI shows on stderr and a library
    caller gets as a ``promoter.registry`` warning: the registry layer never prints.
    """

    insecure_registries: frozenset[str] = frozenset()
    ca_file: str | None = None
    registries: Mapping[str, RegistryConfig] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 8
    #: Requests per second to any one registry (None: unpaced until it answers 429).
    requests_per_second: float | None = None
    #: host -> requests per second from the command line (``--max-rps``), over the pipeline's.
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    connect_timeout: float = 15.0
    stall_timeout: float = 60.0
    chunk_size: int = 4 * 1024 * 1024
    credentials: CredentialProvider | None = None
    transport: object = None
    user_agent: str = "promoter"
    exchange_deadline: float = EXCHANGE_DEADLINE
    speed_limit: float = SPEED_LIMIT
    speed_time: float = SPEED_TIME
    on_wait: Callable[[str], None] | None = field(default=_tell_wait, compare=False, repr=False)
    #: The run's trust roots, loaded early and shared by its transports.
    trust_roots: TrustRoots = field(default_factory=_trust_roots, compare=False, repr=False)

    #: The trust roots ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` name (not for loopback hosts).
    cert_file: str | None = None
    cert_dir: str | None = None
    #: The run's environment, where credentials are looked up (None: this process's).
    environ: Mapping[str, str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        insecure_registries: Iterable[str] = (),
        ca_file: str | None = None,
        registries: Iterable[RegistryConfig] = (),
        **overrides: Any,
    ) -> RegistryOptions:
        """Options from command-line values plus the run's ``settings`` (its timeout,
        speed floor, ``--max-rps`` budgets, insecure hosts and trust roots); ``overrides``
        win over the settings. A bad value names its variable (``InputError``)."""
        for key, name, text in (
            ("exchange_deadline", TIMEOUT_ENV, settings.timeout),
            ("speed_limit", SPEED_LIMIT_ENV, settings.speed_limit),
            ("speed_time", SPEED_TIME_ENV, settings.speed_time),
        ):
            if key not in overrides and text is not None:
                overrides[key] = _seconds(text, name)
        if "rate_limits" not in overrides and settings.max_rps:
            overrides["rate_limits"] = parse_rate_limits(settings.max_rps, MAX_RPS_ENV)
        insecure = {
            normalize_host(h) for h in (*insecure_registries, *settings.insecure_registries)
        }
        configs = {normalize_host(c.host): c for c in registries}
        insecure |= {host for host, config in configs.items() if config.insecure}
        overrides.setdefault("cert_file", settings.cert_file)
        overrides.setdefault("cert_dir", settings.cert_dir)
        overrides.setdefault("environ", settings.environ)
        return cls(
            insecure_registries=frozenset(insecure),
            ca_file=ca_file,
            registries=configs,
            **overrides,
        )

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
        """``from_settings`` with the settings ``environ`` gives (a library caller's
        shortcut; None: a snapshot of this process's, see ``promoter.environment``)."""
        settings = Settings.from_environ(environ if environ is not None else snapshot())
        return cls.from_settings(
            settings,
            insecure_registries=insecure_registries,
            ca_file=ca_file,
            registries=registries,
            **overrides,
        )

    def is_insecure(self, host: str) -> bool:
        """Whether ``host`` was declared insecure (plain HTTP or unverified TLS)."""
        host = normalize_host(host)
        return host in self.insecure_registries or _bare_host(host) in self.insecure_registries

    def config_for(self, host: str) -> RegistryConfig:
        """The pipeline's settings for ``host``, or the defaults."""
        return self.registries.get(normalize_host(host)) or RegistryConfig(normalize_host(host))

    def limits_for(self, host: str) -> tuple[float | None, int]:
        """``host``'s request budget: requests per second (None: unpaced) and concurrency.

        ``--max-rps`` wins over the pipeline's ``limits``, which win over the run's defaults.
        """
        host = normalize_host(host)
        config = self.config_for(host)
        rate = self.rate_limits.get(host)
        if rate is None:
            rate = self.rate_limits.get(_bare_host(host))
        if rate is None:
            rate = config.requests_per_second or self.requests_per_second
        if rate is not None and 1.0 / rate > self.exchange_deadline:
            raise InputError(
                f"{host}: a budget of {rate:g} requests per second is one request every "
                f"{1.0 / rate:g} s, longer than the {self.exchange_deadline:g} s deadline "
                "of a request (--timeout)",
                hint="raise requests_per_second (or --max-rps), or --timeout",
            )
        return rate, config.max_concurrency or self.max_concurrency
