"""kaniko's command line for a :class:`~promoter.build.spec.BuildSpec`.

The same arguments serve both ways of running kaniko; only the paths differ
(:class:`ExecutorPaths`): inside the executor container the context is the
read-only mount ``/workspace`` and the outputs go to ``/output``; as a
subprocess they are the directories on this machine. No secret is ever an
argument: credentials travel in the private Docker config only.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from promoter.build.credentials import registry_host
from promoter.build.spec import BuildSpec
from promoter.structs import struct

__all__ = [
    "CONTAINER_CONTEXT",
    "CONTAINER_DOCKER_CONFIG",
    "CONTAINER_OUTPUT",
    "DIGEST_FILE_NAME",
    "TARBALL_NAME",
    "ExecutorPaths",
    "kaniko_arguments",
]

#: Where the executor container sees the build context (read-only).
CONTAINER_CONTEXT = "/workspace"
#: Where the executor container writes the tarball and the digest file.
CONTAINER_OUTPUT = "/output"
#: Where kaniko reads its Docker config (its image sets DOCKER_CONFIG there).
CONTAINER_DOCKER_CONFIG = "/kaniko/.docker"
#: The file names kaniko writes into the output directory.
TARBALL_NAME = "image.tar"
DIGEST_FILE_NAME = "digest"


@struct(frozen=True)
class ExecutorPaths:
    """The paths kaniko is told about: context, Dockerfile and output directory."""

    context: str
    dockerfile: str
    output: str

    @property
    def tarball(self) -> str:
        """Where ``--tar-path`` writes the image."""
        return str(PurePosixPath(self.output) / TARBALL_NAME)

    @property
    def digest_file(self) -> str:
        """Where ``--digest-file`` writes ``sha256:<hex>``."""
        return str(PurePosixPath(self.output) / DIGEST_FILE_NAME)


def kaniko_arguments(spec: BuildSpec, paths: ExecutorPaths) -> list[str]:
    """The executor's arguments for ``spec``, in a stable order."""
    args = [f"--dockerfile={paths.dockerfile}", f"--context=dir://{paths.context}"]
    if spec.target:
        args.append(f"--target={spec.target}")
    args.extend(f"--build-arg={key}={value}" for key, value in spec.build_args.items())
    args.extend(f"--build-arg={key}" for key in spec.secret_build_args)  # value: environment
    args.extend(f"--label={key}={value}" for key, value in spec.labels.items())
    if spec.reproducible:
        args.append("--reproducible")
    if spec.platform:
        args.append(f"--custom-platform={spec.platform}")
    if spec.cache is not None:
        args.extend(["--cache=true", f"--cache-repo={spec.cache.repo}"])
        if spec.cache.ttl:
            args.append(f"--cache-ttl={spec.cache.ttl}")
    for host in spec.insecure_registries:
        args.extend([f"--insecure-registry={host}", f"--skip-tls-verify-registry={host}"])
    args.append(f"--digest-file={paths.digest_file}")
    if spec.push == "kaniko":
        insecure_hosts = set(spec.insecure_registries)
        if any(registry_host(d) in insecure_hosts for d in spec.destinations):
            args.extend(["--insecure", "--skip-tls-verify"])
        args.extend(f"--destination={destination}" for destination in spec.destinations)
    else:
        args.extend(
            [
                "--no-push",
                f"--tar-path={paths.tarball}",
                f"--destination={spec.tarball_name}",
            ]
        )
    return args
