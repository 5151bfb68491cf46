"""The settings of one run, as a value: built once by the CLI, passed down.

The CLI builds one ``Settings`` per invocation from its flags and an environment
snapshot (``promoter.environment``, the one reader of the process environment), a flag
winning over its variable, and hands it to the pipeline, promotion and registry layers;
none of them reads or writes the process environment for it. A library caller builds
one with ``Settings.from_environ`` from any mapping.

Values that come from the environment are kept as the text the user wrote and checked
where they are used (``RegistryOptions.from_settings``), so a bad ``PROMOTER_TIMEOUT``
fails the commands that reach a registry, as it always did, and not ``--help``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from promoter.ci.service import ENV_CI
from promoter.structs import field, struct

__all__ = [
    "INSECURE_ENV",
    "MAX_RPS_ENV",
    "SPEED_LIMIT_ENV",
    "SPEED_TIME_ENV",
    "TIMEOUT_ENV",
    "Settings",
]

#: Comma-separated ``HOST[:PORT]`` list of registries reached without TLS verification.
INSECURE_ENV = "PROMOTER_INSECURE_REGISTRIES"
#: Seconds a small exchange (ping, token, manifest, index, error) may take, whole (``--timeout``).
TIMEOUT_ENV = "PROMOTER_TIMEOUT"
#: Bytes per second a blob transfer must keep up (with ``SPEED_TIME_ENV``).
SPEED_LIMIT_ENV = "PROMOTER_SPEED_LIMIT"
#: Seconds over which a blob transfer under ``SPEED_LIMIT_ENV`` fails.
SPEED_TIME_ENV = "PROMOTER_SPEED_TIME"
#: Comma-separated ``HOST=N``: at most N requests per second to HOST (``--max-rps``).
MAX_RPS_ENV = "PROMOTER_MAX_RPS"


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "")
    return value if value.strip() else None


def _entries(text: str) -> tuple[str, ...]:
    return tuple(entry for entry in text.split(",") if entry.strip())


@struct(frozen=True)
class Settings:
    """What one run is told: its environment, CI service, registry bounds and budgets.

    ``environ`` is the environment the run reads what users set from (CI variables,
    ``{env: VAR}`` build arguments, credentials); when the CLI chose the CI service
    (``--ci``), its ``PROMOTER_CI`` says that choice, so every layer agrees on it.
    ``timeout``, ``speed_limit`` and ``speed_time`` are texts of seconds and bytes per
    second (None: the defaults); ``max_rps`` the ``HOST=N`` entries, the variable's then
    the flags' (a later entry for a host wins); ``insecure_registries`` the variable's
    hosts; ``cert_file`` and ``cert_dir`` the trust roots ``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` name.
    """

    environ: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    ci: str | None = None
    timeout: str | None = None
    speed_limit: str | None = None
    speed_time: str | None = None
    max_rps: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    cert_file: str | None = None
    cert_dir: str | None = None

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        *,
        ci: str | None = None,
        timeout: str | None = None,
        max_rps: Iterable[str] = (),
    ) -> Settings:
        """The settings ``environ`` gives, with the flags' values over it (``ci``:
        ``--ci``; ``timeout``: ``--timeout``; ``max_rps``: ``--max-rps``, after the
        variable's entries)."""
        env = dict(environ)
        if ci is not None:
            env[ENV_CI] = ci
        return cls(
            environ=MappingProxyType(env),
            ci=ci,
            timeout=timeout if timeout is not None else _text(env, TIMEOUT_ENV),
            speed_limit=_text(env, SPEED_LIMIT_ENV),
            speed_time=_text(env, SPEED_TIME_ENV),
            max_rps=(*_entries(env.get(MAX_RPS_ENV, "")), *(v.strip() for v in max_rps)),
            insecure_registries=_entries(env.get(INSECURE_ENV, "")),
            cert_file=env.get("SSL_CERT_FILE") or None,
            cert_dir=env.get("SSL_CERT_DIR") or None,
        )
