"""From the pipeline model (``images.<name>.build``) to the build stage's BuildSpecs.

One spec per platform: ``platforms: [linux/amd64, linux/arm64]`` gives two
builds, each naming its platform (an index stitches them later). The staging
destinations are the image's staging tags; with several platforms each tag
gets the platform as a suffix (``1.2.3-linux-arm64``), so per-platform builds
never write the same tag.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from promoter.build.spec import (
    DEFAULT_EXECUTOR_IMAGE,
    DEFAULT_TIMEOUT,
    BuildSpec,
    CacheSettings,
    ExecutorSettings,
)
from promoter.config import Image, Pipeline
from promoter.config.problems import shown_path
from promoter.config.secretargs import secret_arg_name
from promoter.environment import snapshot
from promoter.errors import ConfigError
from promoter.redaction import register_secret

__all__ = ["insecure_hosts", "platform_suffix", "specs_from_image"]


def insecure_hosts(pipeline: Pipeline, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """Hosts of the pipeline's ``insecure: true`` registries, plus ``extra``."""
    hosts = [registry.host for registry in pipeline.registries.values() if registry.insecure]
    hosts.extend(extra)
    return tuple(dict.fromkeys(hosts))


def platform_suffix(platform: str) -> str:
    """``linux/arm64/v8`` -> ``linux-arm64-v8`` (a valid tag fragment)."""
    return platform.replace("/", "-")


def _identity(text: str) -> str:
    return text


def specs_from_image(
    pipeline: Pipeline,
    image: Image,
    *,
    tags: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    render: Callable[[str], str] = _identity,
    insecure_registries: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> list[BuildSpec]:
    """The builds of ``image``: one per platform (one without a platform when none is set).

    ``tags`` are staging tag names (without the repository), ``labels`` the tag
    engine's labels (they win over ``build.labels``), ``render`` expands
    ``{{version}}``-style templates in build arguments and ``build.labels``. ``env``
    (this process's environment by default) gives ``args: {NAME: {env: VARIABLE}}`` their
    values; an unset variable is a ``ConfigError`` at its line.
    """
    build = image.build
    merged_labels = {key: render(value) for key, value in build.labels.items()}
    merged_labels.update(labels or {})
    args, secret_args = _build_arguments(pipeline, image, render, env)
    executor = ExecutorSettings(
        image=build.executor.image or DEFAULT_EXECUTOR_IMAGE,
        timeout=float(build.executor.timeout or DEFAULT_TIMEOUT),
    )
    cache = _cache_settings(image)
    staging = image.staging.name
    platforms: Sequence[str | None] = build.platforms or (None,)
    specs = []
    for platform in platforms:
        suffix = f"-{platform_suffix(platform)}" if platform and len(platforms) > 1 else ""
        names = [f"{tag}{suffix}" for tag in tags] or [f"build{suffix}"]
        specs.append(
            BuildSpec(
                context=build.context,
                dockerfile=str(build.dockerfile),
                destinations=tuple(f"{staging}:{name}" for name in names),
                name=image.name if not suffix else f"{image.name}{suffix}",
                target=build.target,
                build_args=args,
                secret_build_args=secret_args,
                labels=merged_labels,
                platform=platform,
                executor=executor,
                reproducible=build.reproducible,
                cache=cache,
                insecure_registries=insecure_hosts(pipeline, insecure_registries),
                push="kaniko" if build.push == "kaniko" else "promoter",
            )
        )
    return specs


def _build_arguments(
    pipeline: Pipeline,
    image: Image,
    render: Callable[[str], str],
    env: Mapping[str, str] | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The image's build arguments, rendered, split into plain ones and secret ones."""
    build = image.build
    args = {key: render(value) for key, value in build.args.items()}
    secret_args = _literal_secrets(args)
    for key, value in _environment_args(pipeline, image, snapshot() if env is None else env):
        if build.env_args[key].secret:
            secret_args[key] = value
        else:
            args[key] = value
    return args, secret_args


def _cache_settings(image: Image) -> CacheSettings | None:
    """kaniko's layer cache for the image, or None when it declares none."""
    cache = image.build.cache
    if cache is None:
        return None
    ttl = f"{cache.ttl}s" if cache.ttl else None
    return CacheSettings(repo=cache.repo.name, ttl=ttl)


def _literal_secrets(args: dict[str, str]) -> dict[str, str]:
    """Take the literal arguments with secret-looking names (``NPM_TOKEN: abc123``, a
    ``validate`` warning) out of ``args``: registered as secrets, they reach kaniko the way
    ``{env: ...}`` secrets do (its environment), never a command line or a record."""
    found = {key: value for key, value in args.items() if secret_arg_name(key)}
    for key, value in found.items():
        register_secret(value)
        del args[key]
    return found


def _environment_args(
    pipeline: Pipeline, image: Image, env: Mapping[str, str]
) -> list[tuple[str, str]]:
    """``(name, value)`` of the image's ``args: {NAME: {env: VARIABLE}}``; secret values are
    registered as secrets (masked wherever promoter writes)."""
    found = []
    for key, arg in image.build.env_args.items():
        value = env.get(arg.variable)
        if value is None:
            raise ConfigError(
                f"the variable {arg.variable} is not set",
                file=shown_path(pipeline.file),
                line=arg.line or None,
                column=arg.column or None,
                path=f"images.{image.name}.build.args.{key}.env",
                hint=f"build argument {key} takes its value from it: set it in the job's"
                " environment, as a secret variable on CI",
            )
        if arg.secret:
            register_secret(value)
        found.append((key, value))
    return found
