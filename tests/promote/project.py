"""A promotion project for the tests: three real registries, a git checkout, pipeline.yml.

``Project`` writes a pipeline file whose registries are real ``docker-registry``
processes (one staging, two production), makes the folder a git repository
whose HEAD carries a release tag (so ``when: tag`` rules apply), and seeds
staging with crafted images pushed over plain HTTP (no promoter code), so the
promotion tests start from a state promoter did not write.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from tests.support.cli import run_cli
from tests.support.env import CLEAN_ENV
from tests.support.fault_proxy import Fault
from tests.support.git import git
from tests.support.images import Image, make_artifact, make_image, push_http
from tests.support.registry import Registry

__all__ = [
    "CLEAN_ENV",
    "Project",
    "attach_sbom",
    "head_digest",
    "promoter_cli",
    "start_promotion",
    "upload_stall",
]

LABELS = {
    "org.opencontainers.image.source": "https://example.invalid/web",
    "org.opencontainers.image.revision": "0" * 40,
}


def fallback_index(registry_url: str, digest: str, repository: str = "web") -> dict[str, Any]:
    """The ``sha256-<hex>`` referrers index of ``digest`` (plain HTTP, an outside reader)."""
    response = httpx.get(
        f"{registry_url}/v2/{repository}/manifests/{digest.replace(':', '-')}",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        timeout=30,
    )
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def attach_sbom(registry_url: str, repository: str, image: Image) -> Image:
    """Push an SBOM referring to ``image`` and the ``sha256-<hex>`` fallback index listing it
    (plain HTTP, an outside writer); returns the SBOM."""
    sbom = make_artifact(image)
    push_http(sbom, registry_url, repository)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [sbom.descriptor()],
    }
    httpx.put(
        f"{registry_url}/v2/{repository}/manifests/{image.digest.replace(':', '-')}",
        content=json.dumps(index).encode(),
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
        timeout=30,
    ).raise_for_status()
    return sbom


def record_document(registry_url: str, record: str, repository: str = "web") -> dict[str, Any]:
    """The promotion record stored as the manifest ``record`` (its one layer's JSON)."""
    manifest = httpx.get(
        f"{registry_url}/v2/{repository}/manifests/{record}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=30,
    ).json()
    layer = manifest["layers"][0]["digest"]
    document: dict[str, Any] = httpx.get(
        f"{registry_url}/v2/{repository}/blobs/{layer}", timeout=30
    ).json()
    return document


def head_digest(registry: Registry, repository: str, ref: str) -> str | None:
    """What ``repository:ref`` names in ``registry`` (an outside reader: plain HTTP)."""
    accept = ", ".join(
        [
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ]
    )
    response = httpx.head(
        f"{registry.url}/v2/{repository}/manifests/{ref}", headers={"Accept": accept}, timeout=30
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def promoter_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (the tests' clean environment)."""
    return run_cli(args, cwd=cwd, env=CLEAN_ENV, timeout=timeout)


def start_promotion(
    project: Project, *extra: str, output: int | None = subprocess.PIPE
) -> subprocess.Popen[str]:
    """``promoter run --stage check,promote`` of ``project`` in the background (to signal
    it, or to run several at once); ``output`` is where its stdout and stderr go."""
    args = ["run", "--stage", "check,promote", "-f", str(project.file), *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "promoter", *args],
        env=CLEAN_ENV,
        stdout=output,
        stderr=output,
        text=True,
    )


def upload_stall(seconds: float) -> Fault:
    """Upload bodies to ``web`` stop after 10 kB for ``seconds`` each time (the upload URL,
    not the POST that opens it): a copy that is slow, or, for long, stuck."""
    return Fault(
        "stall",
        path=r"/v2/web/blobs/uploads/[^?/]+",
        during="request",
        after_bytes=10_000,
        seconds=seconds,
        times=None,
    )


@dataclass
class Project:
    """A pipeline project over three registries: ``staging``, ``prod_a``, ``prod_b``."""

    root: Path
    staging: Registry
    prod_a: Registry
    prod_b: Registry
    git_tag: str = "v1.2.3"
    policies: str = "  - rule: non-root\n"
    promote: str = ""
    images: Sequence[str] = ("web",)
    hosts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.hosts = {
            "staging": self.staging.host,
            "prod-a": self.prod_a.host,
            "prod-b": self.prod_b.host,
            **self.hosts,
        }
        (self.root / "app").mkdir(parents=True, exist_ok=True)
        (self.root / "app" / "Dockerfile").write_text("FROM scratch\nUSER 1000\n")
        self.write()
        self._git("init", "-q", "-b", "main")
        self._git("add", "-A")
        self._git("commit", "-q", "-m", "init")
        if self.git_tag:
            self._git("tag", self.git_tag)

    @property
    def file(self) -> Path:
        """The pipeline file."""
        return self.root / "pipeline.yml"

    def _git(self, *args: str) -> None:
        git(self.root, *args)

    def head(self) -> str:
        """The checkout's HEAD commit."""
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=self.root,
            env=CLEAN_ENV,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def default_promote(self) -> str:
        """Both productions get ``{{version}}`` (immutable) and ``latest`` (mutable) on a tag."""
        return textwrap.dedent(
            """\
              - to: [prod-a/{name}, prod-b/{name}]
                tags: ["{{version}}", latest]
                when: tag
                mutable: [latest]
              - to: [prod-a/{name}]
                tags: [edge]
                when: branch:main
            """
        )

    def write(self) -> None:
        """(Re)write pipeline.yml."""
        registries = "".join(
            f"  {alias}:\n    host: {host}\n    insecure: true\n"
            for alias, host in self.hosts.items()
        )
        images = ""
        for name in self.images:
            promote = (self.promote or self.default_promote()).replace("{name}", name)
            images += (
                f"  {name}:\n"
                "    build:\n      context: app\n"
                "    tags:\n      - type=semver,pattern={{version}}\n      - type=sha\n"
                f"    staging: staging/{name}\n"
                "    promote:\n" + textwrap.indent(promote, "    ")
            )
        text = f"version: 1\nregistries:\n{registries}images:\n{images}"
        if self.policies:
            text += f"policies:\n{self.policies}"
        self.file.write_text(text)

    def seed(
        self,
        name: str = "web",
        *,
        seed: str = "1",
        user: str = "1000",
        tag: str = "1.2.3",
        referrers: bool = False,
        layer_sizes: Sequence[int] = (),
    ) -> Image:
        """Push an image to ``<name>:<tag>`` in staging (and, optionally, an SBOM referring to it)."""
        image = make_image(seed=seed, user=user, labels=LABELS, layer_sizes=layer_sizes)
        push_http(image, self.staging.url, name, tag)
        if referrers:
            attach_sbom(self.staging.url, name, image)
        return image

    def request(self, **overrides: Any) -> Any:
        """A ``RunRequest`` for this project (library calls, clean environment)."""
        from promoter.pipeline import RunRequest

        values: dict[str, Any] = {
            "pipeline_file": str(self.file),
            "env": CLEAN_ENV,
            "now": datetime.now(timezone.utc),
            "stages": ("check", "promote"),
        }
        values.update(overrides)
        return RunRequest(**values)
