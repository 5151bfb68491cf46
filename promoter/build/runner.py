"""``build_image``: one kaniko build, through a Docker engine or as a subprocess.

The steps: check the spec's inputs; find the registries the build needs and
only their credentials; write them into a private Docker config; run kaniko
(a container when a Docker engine answers; the executor binary when promoter
runs inside a kaniko image); turn a failure into a BuildError naming the
Dockerfile line; read the digest file and the tarball.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from promoter.build.arguments import (
    CONTAINER_CONTEXT,
    CONTAINER_OUTPUT,
    DIGEST_FILE_NAME,
    TARBALL_NAME,
    ExecutorPaths,
    kaniko_arguments,
)
from promoter.build.credentials import (
    CredentialLookup,
    collect_credentials,
    private_docker_config,
    required_registries,
)
from promoter.build.docker_engine import ContainerJob, engine_reachable, run_in_container
from promoter.build.failure import KanikoFailed, LogTail, build_failure
from promoter.build.result import BuildResult, ExecutionMode, read_digest, tarball_path
from promoter.build.spec import BuildSpec
from promoter.build.subprocess_executor import executor_path, run_as_subprocess
from promoter.config.problems import shown_path
from promoter.errors import BuildError, InputError

__all__ = ["LogCallback", "ModeChoice", "build_image", "choose_mode"]

LogCallback = Callable[[str], None]
ModeChoice = Literal["auto", "docker", "subprocess"]

#: Where a Dockerfile outside the context is mounted in the executor container.
_CONTAINER_DOCKERFILE_DIR = "/kaniko/promoter-dockerfile"


def _ignore(_line: str) -> None:
    return None


def choose_mode(mode: ModeChoice = "auto", executor: Path | None = None) -> ExecutionMode:
    """``docker`` when an engine answers; else ``subprocess`` when the executor exists."""
    if mode != "auto":
        return mode
    if engine_reachable():
        return "docker"
    path = executor or executor_path()
    if path.is_file():
        return "subprocess"
    raise BuildError(
        f"cannot build: no Docker engine is reachable and there is no kaniko executor at {path}",
        hint="start Docker or set DOCKER_HOST, or run promoter inside a kaniko executor image",
    )


def _check_inputs(spec: BuildSpec) -> str:
    if not spec.context.is_dir():
        raise InputError(f"build context of {spec.name} is not a directory: {spec.context}")
    try:
        text = spec.dockerfile_path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise InputError(
            f"cannot read the Dockerfile of {spec.name}: {spec.dockerfile_path}: {error.strerror}"
        ) from error
    if spec.push == "kaniko" and not spec.destinations:
        raise InputError(f"{spec.name}: push: kaniko needs a staging destination to push to")
    if spec.executor.timeout <= 0:
        raise InputError(f"{spec.name}: the build timeout must be positive")
    return text


def _prepare_output(output_dir: Path | None) -> Path:
    if output_dir is None:
        return Path(tempfile.mkdtemp(prefix="promoter-build-"))
    output_dir.mkdir(parents=True, exist_ok=True)
    for name in (TARBALL_NAME, DIGEST_FILE_NAME):  # never mistake an old result for this one
        (output_dir / name).unlink(missing_ok=True)
    return output_dir


def _dockerfile_in_container(spec: BuildSpec) -> tuple[str, tuple[tuple[Path, str], ...]]:
    context = spec.context.resolve()
    dockerfile = spec.dockerfile_path.resolve()
    try:
        inside = dockerfile.relative_to(context)
    except ValueError:
        target = f"{_CONTAINER_DOCKERFILE_DIR}/{dockerfile.name}"
        return target, ((dockerfile, target),)
    return f"{CONTAINER_CONTEXT}/{inside.as_posix()}", ()


def _run_in_docker(
    spec: BuildSpec, output: Path, config_dir: Path, tail: LogTail, log: LogCallback
) -> int | None:
    """Run kaniko as a container of the Docker engine; its exit code, None on timeout."""
    dockerfile, extra = _dockerfile_in_container(spec)
    paths = ExecutorPaths(CONTAINER_CONTEXT, dockerfile, CONTAINER_OUTPUT)
    job = ContainerJob(
        image=spec.executor.image,
        arguments=kaniko_arguments(spec, paths),
        context=spec.context.resolve(),
        output=output.resolve(),
        docker_config=config_dir,
        name=spec.name,
        timeout=spec.executor.timeout,
        extra_mounts=extra,
        environment=dict(spec.secret_build_args),
    )
    return run_in_container(job, tail, log)


def _run_executor(
    executor: Path,
    spec: BuildSpec,
    output: Path,
    config_dir: Path,
    tail: LogTail,
    log: LogCallback,
) -> int | None:
    """Run the kaniko executor binary as a subprocess; its exit code, None on timeout."""
    paths = ExecutorPaths(
        str(spec.context.resolve()),
        str(spec.dockerfile_path.resolve()),
        str(output.resolve()),
    )
    return run_as_subprocess(
        executor,
        kaniko_arguments(spec, paths),
        docker_config=config_dir,
        timeout=spec.executor.timeout,
        environment=spec.secret_build_args,
        tail=tail,
        on_log=log,
    )


def _raise_on_failure(spec: BuildSpec, code: int | None, tail: LogTail) -> None:
    """Raise KanikoFailed for a timeout (``code`` None) or a non-zero exit of kaniko."""
    if code is None:
        raise KanikoFailed(
            f"build of {spec.name} timed out after {spec.executor.timeout:g}s and was stopped",
            exit_code=None,
            last_lines=[line for line in tail.lines if line.strip()][-15:],
            dockerfile_line=None,
            hint="raise build.executor.timeout, or make the build faster (e.g. a layer cache)",
        )
    if code != 0:
        raise build_failure(
            image=spec.name,
            exit_code=code,
            tail=tail,
            dockerfile=spec.dockerfile_path,
            dockerfile_label=shown_path(spec.dockerfile_path),
        )


def build_image(
    spec: BuildSpec,
    *,
    output_dir: Path | None = None,
    credentials: CredentialLookup | None = None,
    on_log: LogCallback | None = None,
    mode: ModeChoice = "auto",
    executor: str | os.PathLike[str] | None = None,
    scratch_dir: Path | None = None,
) -> BuildResult:
    """Build ``spec`` with kaniko and return the digest and the tarball.

    ``credentials`` is asked for the registries the build needs (base images,
    cache, kaniko's push) and nothing else. ``on_log`` receives kaniko's output
    line by line as it runs. ``executor`` overrides the executor path of the
    subprocess mode; ``scratch_dir`` is where the private Docker config's
    directory is created (the system temp directory by default).
    Raises InputError for a bad spec and BuildError when the build fails.
    """
    log = on_log or _ignore
    dockerfile_text = _check_inputs(spec)
    path = executor_path(executor)
    chosen = choose_mode(mode, path)
    output = _prepare_output(output_dir)
    hosts = required_registries(spec, dockerfile_text)
    logins = collect_credentials(hosts, credentials)
    tail = LogTail()
    started = time.monotonic()
    with private_docker_config(logins, scratch_dir) as config_dir:
        if chosen == "docker":
            code = _run_in_docker(spec, output, config_dir, tail, log)
        else:
            code = _run_executor(path, spec, output, config_dir, tail, log)
    seconds = time.monotonic() - started
    _raise_on_failure(spec, code, tail)
    digest = read_digest(output, spec.name)
    tarball = tarball_path(output, spec.name) if spec.push == "promoter" else None
    return BuildResult(
        name=spec.name,
        digest=digest,
        platform=spec.platform,
        tarball=tarball,
        output_dir=output,
        mode=chosen,
        seconds=seconds,
        pushed_to=spec.destinations if spec.push == "kaniko" else (),
    )
