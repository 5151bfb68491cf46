"""What a pipeline run or build is asked to do, and the registry settings a pipeline implies."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from promoter.ci.service import AZURE_DEVOPS, GITHUB, detect_service
from promoter.environment import snapshot
from promoter.errors import InputError
from promoter.settings import Settings
from promoter.structs import field, struct

if TYPE_CHECKING:
    from promoter.build.stage import BuildLog
    from promoter.config import Pipeline
    from promoter.promote.stopping import StopRequest
    from promoter.registry.access.options import RegistryOptions
    from promoter.transfer import ProgressListener

__all__ = [
    "STAGES",
    "BuildRequest",
    "RunRequest",
    "ci_run_url",
    "parse_stages",
    "registry_hosts",
    "registry_options",
    "run_environ",
    "run_settings",
]

#: The stages of ``promoter run``, in order.
STAGES = ("build", "push", "check", "promote")


def parse_stages(text: str) -> tuple[str, ...]:
    """``build,push,check,promote`` (any subset) -> the stages in pipeline order."""
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STAGES]
    if unknown or not wanted:
        raise InputError(
            f"unknown stage {', '.join(map(repr, unknown)) or '(none given)'} in --stage",
            hint=f"choose from {', '.join(STAGES)}",
        )
    return tuple(s for s in STAGES if s in wanted)


@struct(frozen=True)
class RunRequest:
    """``promoter run``/``plan``: the file, the images, the stages and the transport settings."""

    pipeline_file: str = "pipeline.yml"
    images: tuple[str, ...] = ()
    stages: tuple[str, ...] = STAGES
    dry_run: bool = False
    insecure_registries: tuple[str, ...] = ()
    ca_file: str | None = None
    env: Mapping[str, str] | None = None
    now: datetime | None = None
    build_log: BuildLog | None = field(default=None, compare=False)
    listener: ProgressListener | None = field(default=None, compare=False)
    #: The run's settings (None: from this process's environment, see ``run_settings``).
    settings: Settings | None = field(default=None, compare=False)
    #: The run's interrupt request, which the CLI's signal handlers set (None: none).
    stop: StopRequest | None = field(default=None, compare=False)


@struct(frozen=True)
class BuildRequest:
    """``promoter build``: the file, the images, push or not, the transport settings, the log."""

    pipeline_file: str = "pipeline.yml"
    images: tuple[str, ...] = ()
    push: bool = True
    insecure_registries: tuple[str, ...] = ()
    ca_file: str | None = None
    env: Mapping[str, str] | None = None
    now: datetime | None = None
    log: BuildLog | None = field(default=None, compare=False)
    #: Hears what a person should know about the git context before the builds start.
    warn: Callable[[str], None] | None = field(default=None, compare=False)
    #: The run's settings (None: from this process's environment, see ``run_settings``).
    settings: Settings | None = field(default=None, compare=False)


def registry_hosts(pipeline: Pipeline) -> dict[str, dict[str, object]]:
    """host -> transport and auth settings (names of variables, no secrets), as a plan file keeps them."""
    return pipeline.registry_settings()


def run_settings(settings: Settings | None) -> Settings:
    """``settings``, or for a library caller that gave none, those of this process's
    environment (a snapshot, see ``promoter.environment``)."""
    return settings if settings is not None else Settings.from_environ(snapshot())


def run_environ(env: Mapping[str, str] | None, settings: Settings | None) -> Mapping[str, str]:
    """The environment a run reads CI variables and ``{env: ...}`` values from: ``env``
    when given, else the settings' (see ``run_settings``)."""
    return env if env is not None else run_settings(settings).environ


def registry_options(
    hosts: Mapping[str, Mapping[str, object]],
    insecure_registries: Iterable[str] = (),
    ca_file: str | None = None,
    settings: Settings | None = None,
) -> RegistryOptions:
    """Registry options from a host table (a pipeline's or a plan's), the command line
    and the run's settings (see ``run_settings``)."""
    # here, not at the top: registry options (ssl, socket) into --help (+71 modules, 40 ms)
    from promoter.registry.access.options import RegistryOptions, configs_from_settings

    return RegistryOptions.from_settings(
        run_settings(settings),
        insecure_registries=tuple(insecure_registries),
        ca_file=ca_file,
        registries=configs_from_settings(hosts),
    )


def ci_run_url(env: Mapping[str, str]) -> str | None:
    """The CI run's web address on GitHub Actions or Azure DevOps, else None."""
    try:
        service = detect_service(env)
    except ValueError:
        return None
    if service == GITHUB and env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        return f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env['GITHUB_RUN_ID']}"
    if service == AZURE_DEVOPS and env.get("BUILD_BUILDID"):
        collection = env.get("SYSTEM_COLLECTIONURI", "").rstrip("/")
        project = env.get("SYSTEM_TEAMPROJECT", "")
        return f"{collection}/{project}/_build/results?buildId={env['BUILD_BUILDID']}"
    return None
