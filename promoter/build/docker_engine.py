"""The one module of promoter that talks to a Docker engine (the ``docker`` SDK).

It runs the kaniko executor image as a container: pulled with progress when
missing, host network, the context mounted read-only at ``/workspace``, an
output folder at ``/output``, the private Docker config read-only at
``/kaniko/.docker``, ``container=docker`` in the environment. Logs stream to a
callback while it runs; past the timeout it is killed; whatever happens
(failure, timeout, Ctrl-C) the container is removed. ``docker`` and
``requests`` exceptions are translated into :class:`~promoter.errors.BuildError`
here and nowhere else.

The mounts are bind mounts of this machine's paths, so the engine must share
this machine's filesystem (a local engine, as on CI runners), not a remote one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from promoter.build.arguments import CONTAINER_CONTEXT, CONTAINER_DOCKER_CONFIG, CONTAINER_OUTPUT
from promoter.build.failure import LogTail, deliver
from promoter.errors import BuildError
from promoter.structs import field, struct

__all__ = ["ContainerJob", "engine_reachable", "repository_digest", "run_in_container"]

#: Label on every executor container promoter starts (value: the image's name).
CONTAINER_LABEL = "io.promoter.build"

LogCallback = Callable[[str], None]


@struct(frozen=True)
class ContainerJob:
    """One executor container: image, arguments and the host paths it mounts."""

    image: str
    arguments: list[str]
    context: Path
    output: Path
    docker_config: Path
    name: str
    timeout: float
    extra_mounts: tuple[tuple[Path, str], ...] = ()  # (host file, container path), read-only
    #: More of the container's environment (secret build arguments' values): never logged.
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)


def _docker_errors() -> tuple[type[BaseException], ...]:
    import docker.errors
    import requests.exceptions

    return (docker.errors.DockerException, requests.exceptions.RequestException)


def engine_reachable(timeout: float = 5.0) -> bool:
    """Whether a Docker engine answers (``DOCKER_HOST`` or the default socket)."""
    import docker

    try:
        client = docker.from_env(timeout=int(timeout))
    except _docker_errors():
        return False
    try:
        return bool(client.ping())
    except _docker_errors():
        return False
    finally:
        client.close()


@contextmanager
def _client() -> Iterator[Any]:
    import docker

    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except _docker_errors() as error:
        raise BuildError(
            f"no Docker engine reachable: {error}",
            hint="start Docker or set DOCKER_HOST; inside a kaniko image promoter runs "
            "/kaniko/executor directly",
        ) from error
    try:
        yield client
    finally:
        client.close()


def _local_image_id(client: Any, image: str) -> str | None:
    import docker.errors

    candidates = [image]
    name, at, digest = image.partition("@")
    if at and ":" in name.rsplit("/", 1)[-1]:
        candidates.append(f"{name.rsplit(':', 1)[0]}@{digest}")  # name:tag@digest -> name@digest
    for candidate in candidates:
        try:
            return str(client.images.get(candidate).id)
        except docker.errors.ImageNotFound:
            continue
    return None


def repository_digest(image: str) -> str | None:
    """The manifest digest the Docker engine knows ``image`` by (``RepoDigests``), or None.

    An image the engine built or imported itself has none: it never came from a registry.
    """
    name = image.partition("@")[0]
    head, slash, last = name.rpartition("/")
    repository = f"{head}{slash}{last.partition(':')[0]}"
    errors: tuple[type[BaseException], ...] = (BuildError, *_docker_errors())
    try:
        with _client() as client:
            found = client.images.get(image).attrs.get("RepoDigests") or []
    except errors:
        return None
    for entry in found:
        named, at, digest = str(entry).partition("@")
        if at and named == repository:
            return digest
    return None


def _pull(client: Any, image: str, on_log: LogCallback) -> str:
    """Pull ``image`` with progress lines; return its local id or raise BuildError."""
    import docker.utils

    repository, tag = docker.utils.parse_repository_tag(image)
    if tag and tag.startswith("sha256:") and ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    hint = (
        "make the executor image available to the Docker engine (docker pull, or "
        "docker load -i kaniko.tar), or set build.executor.image to an image it has"
    )
    on_log(f"pulling the kaniko executor image {image}")
    reported: dict[str, str] = {}
    try:
        for event in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise BuildError(
                    f"cannot pull the kaniko executor image {image}: {event['error']}", hint=hint
                )
            status, layer = str(event.get("status", "")), str(event.get("id", ""))
            if status and reported.get(layer) != status:  # one line per layer and state
                reported[layer] = status
                on_log(f"pull: {layer + ': ' if layer else ''}{status}")
    except _docker_errors() as error:
        explanation = getattr(error, "explanation", None) or str(error)
        raise BuildError(
            f"cannot pull the kaniko executor image {image}: {explanation}", hint=hint
        ) from error
    found = _local_image_id(client, image)
    if found is None:
        raise BuildError(f"pulled {image} but the Docker engine does not show it", hint=hint)
    return found


def _stream_logs(container: Any, tail: LogTail, on_log: LogCallback) -> None:
    # Ends when the container stops or is removed; the main thread decides what that means.
    with contextlib.suppress(Exception):
        for chunk in container.logs(stream=True, follow=True):
            deliver(on_log, tail.feed(chunk.decode("utf-8", errors="replace")))
    deliver(on_log, tail.close())


def _mounts(job: ContainerJob) -> list[object]:
    from docker.types import Mount

    mounts = [
        Mount(CONTAINER_CONTEXT, str(job.context), type="bind", read_only=True),
        Mount(CONTAINER_OUTPUT, str(job.output), type="bind", read_only=False),
        Mount(CONTAINER_DOCKER_CONFIG, str(job.docker_config), type="bind", read_only=True),
    ]
    mounts.extend(
        Mount(target, str(source), type="bind", read_only=True)
        for source, target in job.extra_mounts
    )
    return mounts


def run_in_container(job: ContainerJob, tail: LogTail, on_log: LogCallback) -> int | None:
    """Run the executor container to its end; its exit code, or None when it timed out."""
    with _client() as client:
        try:
            image_id = _local_image_id(client, job.image) or _pull(client, job.image, on_log)
            container = client.containers.create(
                image_id,
                command=job.arguments,
                # DOCKER_CONFIG too: not every fork's image sets it to the mounted config.
                environment={
                    **job.environment,
                    "container": "docker",
                    "DOCKER_CONFIG": CONTAINER_DOCKER_CONFIG,
                },
                network_mode="host",
                mounts=_mounts(job),
                labels={CONTAINER_LABEL: job.name},
                detach=True,
            )
        except _docker_errors() as error:
            raise BuildError(
                f"cannot create the kaniko container for {job.name}: {error}"
            ) from error
        try:
            return _run(container, job.timeout, tail, on_log)
        except _docker_errors() as error:
            raise BuildError(
                f"the Docker engine failed during the build of {job.name}: {error}"
            ) from error
        finally:
            # Already gone, or the engine died: nothing left to clean here.
            with contextlib.suppress(*_docker_errors()):
                container.remove(force=True)


def _run(container: Any, timeout: float, tail: LogTail, on_log: LogCallback) -> int | None:
    container.start()
    reader = threading.Thread(target=_stream_logs, args=(container, tail, on_log), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        if container.status in ("exited", "dead"):
            break
        if time.monotonic() >= deadline:
            container.kill()
            reader.join(timeout=5)
            return None
        time.sleep(0.2)
    code = int(container.wait(timeout=60).get("StatusCode", 1))
    reader.join(timeout=10)
    return code
