"""The typed, immutable pipeline model that every later stage reads.

Built by ``promoter.config.load_pipeline`` from a file that passed the schema
and the semantic checks, so its invariants hold: every alias is defined,
paths exist and are absolute, sizes and durations are parsed. Each element
remembers the ``line`` and ``column`` of its place in pipeline.yml, so a
policy violation or a promotion problem can be annotated on the right line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from promoter.structs import field, struct

__all__ = [
    "BuildCache",
    "BuildConfig",
    "EnvBuildArg",
    "Executor",
    "Image",
    "Pipeline",
    "PolicyRuleConfig",
    "PromoteRule",
    "Registry",
    "RegistryAuth",
    "Repository",
    "Retention",
    "SigningConfig",
    "When",
    "frozen_mapping",
]


def frozen_mapping(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only copy of ``values``."""
    return MappingProxyType(dict(values or {}))


@struct(frozen=True)
class RegistryAuth:
    """How to log in to a registry. Only names of environment variables, never secrets."""

    kind: str = "docker-config"
    username_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    tenant: str | None = None
    client_id: str | None = None
    config: Path | None = None


@struct(frozen=True)
class Registry:
    """A registry alias: ``host[:port]`` plus transport and auth settings."""

    alias: str
    host: str
    insecure: bool = False
    ca_file: Path | None = None
    auth: RegistryAuth = field(default_factory=RegistryAuth)
    line: int = 0
    column: int = 0
    #: ``limits``: requests per second and requests in flight (None: the defaults).
    requests_per_second: float | None = None
    max_concurrency: int | None = None

    def settings(self) -> dict[str, object]:
        """How to reach and log in to this registry, as plain values (no secrets)."""
        auth = self.auth
        found: dict[str, object] = {
            "alias": self.alias,
            "insecure": self.insecure,
            "auth": auth.kind,
        }
        optional = {
            "usernameEnv": auth.username_env,
            "passwordEnv": auth.password_env,
            "tokenEnv": auth.token_env,
            "tenant": auth.tenant,
            "clientId": auth.client_id,
            "dockerConfig": str(auth.config) if auth.config else None,
            "caFile": str(self.ca_file) if self.ca_file else None,
            "requestsPerSecond": self.requests_per_second,
            "maxConcurrency": self.max_concurrency,
        }
        found.update({key: value for key, value in optional.items() if value})
        return found


@struct(frozen=True)
class Repository:
    """A repository in an aliased registry: ``alias/repository`` as written, and its host."""

    alias: str
    host: str
    repository: str
    line: int = 0
    column: int = 0

    @property
    def name(self) -> str:
        """``host/repository``, the way references are written."""
        return f"{self.host}/{self.repository}"

    def __str__(self) -> str:
        return f"{self.alias}/{self.repository}"


@struct(frozen=True)
class Executor:
    """The kaniko executor: image override and timeout in seconds."""

    image: str | None = None
    timeout: int | None = None


@struct(frozen=True)
class BuildCache:
    """kaniko's layer cache repository and its time to live in seconds."""

    repo: Repository
    ttl: int | None = None


@struct(frozen=True)
class EnvBuildArg:
    """A build argument whose value is the runner's environment variable ``variable``;
    ``secret`` ones reach kaniko through its environment only, and no record shows them."""

    variable: str
    secret: bool = True
    line: int = 0
    column: int = 0


@struct(frozen=True)
class BuildConfig:
    """How to build an image. ``context`` and ``dockerfile`` are absolute, existing paths."""

    context: Path
    dockerfile: Path
    target: str | None = None
    args: Mapping[str, str] = field(default_factory=frozen_mapping, hash=False)
    #: ``args: {NAME: {env: VARIABLE}}``: read from the environment when the build runs.
    env_args: Mapping[str, EnvBuildArg] = field(default_factory=frozen_mapping, hash=False)
    platforms: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=frozen_mapping, hash=False)
    executor: Executor = field(default_factory=Executor)
    cache: BuildCache | None = None
    reproducible: bool = True
    push: str = "promoter"


@struct(frozen=True)
class When:
    """When a promote rule applies: on a git ``tag``, ``always``, or on a ``branch`` glob."""

    kind: str
    pattern: str | None = None

    def __str__(self) -> str:
        return f"branch:{self.pattern}" if self.kind == "branch" else self.kind


#: cosign's own variable for a key's password.
DEFAULT_PASSWORD_ENV = "COSIGN_PASSWORD"


@struct(frozen=True)
class SigningConfig:
    """Where a signing key comes from: a file (absolute path) or a variable holding the
    PEM text, and the variable holding its password. Names and paths, never secrets."""

    key_file: Path | None = None
    key_env: str | None = None
    password_env: str = DEFAULT_PASSWORD_ENV
    line: int = 0
    column: int = 0

    def settings(self) -> dict[str, str]:
        """The key's source as plain values (a plan file keeps them; no secret)."""
        found = {"passwordEnv": self.password_env}
        if self.key_file is not None:
            found["keyFile"] = str(self.key_file)
        if self.key_env is not None:
            found["keyEnv"] = self.key_env
        return found

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SigningConfig:
        """Back from ``settings()``."""
        key_file = settings.get("keyFile")
        return cls(
            key_file=Path(key_file) if key_file else None,
            key_env=settings.get("keyEnv"),
            password_env=settings.get("passwordEnv") or DEFAULT_PASSWORD_ENV,
        )


@struct(frozen=True)
class PromoteRule:
    """Copy the checked digest to these repositories, then write these tags.

    Empty ``tags`` means the image's computed tags. Only ``mutable`` tags may
    be moved once they exist.
    """

    to: tuple[Repository, ...]
    tags: tuple[str, ...] = ()
    when: When = field(default_factory=lambda: When("tag"))
    mutable: tuple[str, ...] = ()
    line: int = 0
    column: int = 0
    #: ``sign``: the key that signs each promoted digest (None: no signature).
    sign: SigningConfig | None = None


@struct(frozen=True)
class Retention:
    """``retention``: what ``promoter prune`` keeps in a staging repository.

    ``keep_last`` newest digests, every digest created within ``keep_newer_than``
    seconds, every digest a tag matching one of ``keep_tags`` names. None: the key
    is not set (an image's retention falls back to the top level's key by key).
    """

    keep_last: int | None = None
    keep_newer_than: int | None = None
    keep_tags: tuple[str, ...] | None = None
    line: int = 0
    column: int = 0

    def over(self, default: Retention | None) -> Retention:
        """This retention's keys, the ones it leaves unset taken from ``default``."""
        if default is None:
            return self
        return Retention(
            keep_last=self.keep_last if self.keep_last is not None else default.keep_last,
            keep_newer_than=self.keep_newer_than
            if self.keep_newer_than is not None
            else default.keep_newer_than,
            keep_tags=self.keep_tags if self.keep_tags is not None else default.keep_tags,
            line=self.line,
            column=self.column,
        )

    def settings(self) -> dict[str, object]:
        """The keys that are set, camelCase (a prune plan keeps them)."""
        found: dict[str, object] = {}
        if self.keep_last is not None:
            found["keepLast"] = self.keep_last
        if self.keep_newer_than is not None:
            found["keepNewerThan"] = self.keep_newer_than
        if self.keep_tags is not None:
            found["keepTags"] = list(self.keep_tags)
        return found


@struct(frozen=True)
class Image:
    """One image: its build, its tag rules and labels, staging, and promotions."""

    name: str
    build: BuildConfig
    staging: Repository
    tags: tuple[str, ...] = ()
    flavor: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=frozen_mapping, hash=False)
    promote: tuple[PromoteRule, ...] = ()
    line: int = 0
    column: int = 0
    #: ``images.<name>.retention`` as written (None: not set); see ``Pipeline.retention_of``.
    retention: Retention | None = None


@struct(frozen=True)
class PolicyRuleConfig:
    """A policy rule with its options as written (sizes, durations and paths made typed).

    ``options`` holds the rule-specific keys. For ``max-size`` ``max`` is in
    bytes, for ``max-age`` in seconds; ``signed.key`` and ``schema.schema``
    are absolute paths. ``index`` is the rule's position in ``policies``.
    """

    rule: str
    mode: str = "enforce"
    options: Mapping[str, object] = field(default_factory=frozen_mapping, hash=False)
    index: int = 0
    line: int = 0
    column: int = 0

    @property
    def enforced(self) -> bool:
        """Whether a failure refuses the promotion (else it only warns)."""
        return self.mode == "enforce"


@struct(frozen=True)
class ConfigWarning:
    """Something in the pipeline file that loads but should change: where, and why."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        """``pipeline.yml:12:9: images.web.build.args.NPM_TOKEN: warning: ...``"""
        return f"{self.file}:{self.line}:{self.column}: {self.path}: warning: {self.message}"

    def located(self) -> str:
        """``pipeline.yml:12:9: images.web.build.args.NPM_TOKEN: ...`` (for a line that
        already says it is a warning)."""
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """The warning in a command's JSON document."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


@struct(frozen=True)
class Pipeline:
    """A loaded, validated pipeline file."""

    file: Path
    version: int
    registries: Mapping[str, Registry] = field(hash=False)
    images: Mapping[str, Image] = field(hash=False)
    policies: tuple[PolicyRuleConfig, ...] = ()
    #: ``signing``: the pipeline's key (provenance, ``sign: true``), or None.
    signing: SigningConfig | None = None
    #: What loads but should change (a literal secret build argument), in file order.
    warnings: tuple[ConfigWarning, ...] = ()

    #: ``retention``: the default of every image's staging repository, or None.
    retention: Retention | None = None

    def retention_of(self, image: Image) -> Retention | None:
        """The image's retention: its own keys over the top level's (None: neither is set)."""
        if image.retention is None:
            return self.retention
        return image.retention.over(self.retention)

    @property
    def base_dir(self) -> Path:
        """The directory relative paths in the file are resolved against."""
        return self.file.parent

    def image(self, name: str) -> Image:
        """The image called ``name`` (``KeyError`` if there is none)."""
        return self.images[name]

    def registry_settings(self) -> dict[str, dict[str, object]]:
        """host -> how to reach and log in to it: names of variables and paths, no secrets.

        What a plan file keeps, and what ``promoter.registry`` reads back
        (``RegistryConfig.from_settings``).
        """
        return {
            r.host: {**r.settings(), "file": str(self.file), "line": r.line, "column": r.column}
            for r in self.registries.values()
        }

    def summary(self) -> dict[str, int]:
        """Counts for ``promoter validate``: images, registries, policies, promotions."""
        return {
            "images": len(self.images),
            "registries": len(self.registries),
            "policies": len(self.policies),
            "promotions": sum(
                len(rule.to) for image in self.images.values() for rule in image.promote
            ),
        }
