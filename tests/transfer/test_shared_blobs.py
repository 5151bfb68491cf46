"""Each unique blob crosses to a destination registry once per run: a batch of
images sharing a base layer uploads it once and mounts it into the other
repositories, as the destination registry's own access log shows."""

from __future__ import annotations

import subprocess
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.images import Image, make_image, push_http, random_layer, tar_gz
from tests.support.registry import Registry
from tests.transfer.conftest import CliRun, skopeo_digest

pytestmark = pytest.mark.registry

Promoter = Callable[..., CliRun]


def shared_base_images(count: int, seed: str) -> tuple[bytes, list[Image]]:
    """``count`` images on one 1 MiB base layer, each with a small layer of its own."""
    base = random_layer(1 << 20, f"base-{seed}")
    images = [
        make_image(layers=[base, tar_gz({f"app-{i}": f"{seed} {i}\n".encode()})], seed=f"{seed}{i}")
        for i in range(count)
    ]
    return base, images


def uploads_and_mounts(registry: Registry, digest: str) -> tuple[int, int, int]:
    """How often ``digest`` was uploaded, mounted and refused a mount, per the access log."""
    logged = registry.requests()
    uploads = Counter(r.uploaded for r in logged)
    mounts = Counter(r.mounted for r in logged)
    declined = Counter(r.declined for r in logged)
    return uploads[digest], mounts[digest], declined[digest]


def _staged_batch(
    images: list[Image], registry: Registry, source: str, destination: str, tmp_path: Path
) -> Path:
    """Push each image to ``source:v{i}``; a --batch file copying it to ``destination-{i}:v1``."""
    lines = []
    for i, image in enumerate(images):
        push_http(image, registry.url, source, f"v{i}")
        lines.append(f"{registry.host}/{source}:v{i} {destination}-{i}:v1")
    batch = tmp_path / "pairs.txt"
    batch.write_text("\n".join(lines) + "\n")
    return batch


def test_batch_uploads_a_shared_layer_once_and_mounts_it_four_times(
    registry: Registry, registry_factory: Callable[..., Registry], repo: Callable[[str], str],
    promoter: Promoter, skopeo: str, tmp_path: Path,
) -> None:  # fmt: skip
    from tests.support.images import digest_of

    base, images = shared_base_images(5, "batch")
    destination = registry_factory(access_log=True)
    lines = []
    for i, image in enumerate(images):
        source = repo("src")
        push_http(image, registry.url, source, "v1")
        lines.append(f"{registry.host}/{source}:v1 {destination.host}/app{i}:v1")
    batch = tmp_path / "pairs.txt"
    batch.write_text("\n".join(lines) + "\n")

    run = promoter("copy", "--batch", str(batch), "-o", "json")

    assert run.code == 0, run.stderr
    assert uploads_and_mounts(destination, digest_of(base))[:2] == (1, 4)
    copies = run.json["copies"]
    assert sum(c["blobs"]["mounted"] for c in copies) == 4
    assert sum(c["blobs"]["copied"] for c in copies) == 5 * 3 - 4
    for i, image in enumerate(images):
        assert skopeo_digest(f"{destination.host}/app{i}:v1") == image.digest
        # each image's own layer and config crossed once too
        for digest in set(image.blobs) - {digest_of(base)}:
            assert uploads_and_mounts(destination, digest)[:2] == (1, 0)


def test_a_repository_that_does_not_hold_the_blob_declines_and_the_copy_is_whole(
    registry: Registry, registry_factory: Callable[..., Registry], repo: Callable[[str], str],
    promoter: Promoter, skopeo: str, tmp_path: Path,
) -> None:  # fmt: skip
    """The batch's other destinations are likely homes: the first copy's mount from
    one that is still empty is declined (202), and that upload session is used."""
    from tests.support.images import digest_of

    base, images = shared_base_images(2, "declined")
    destination = registry_factory(access_log=True)
    source = repo("src")
    push_http(images[0], registry.url, source, "v1")
    batch = tmp_path / "pairs.txt"
    batch.write_text(
        f"{registry.host}/{source}:v1 {destination.host}/first:v1\n"
        f"{registry.host}/{source}:v1 {destination.host}/empty-yet:v1\n"
    )

    run = promoter("copy", "--batch", str(batch), "-j", "1", "-o", "json")

    assert run.code == 0, run.stderr
    uploads, mounts, declined = uploads_and_mounts(destination, digest_of(base))
    assert (uploads, mounts, declined) == (1, 1, 1)
    out = tmp_path / "out"
    subprocess.run(
        [skopeo, "copy", "--src-tls-verify=false", f"docker://{destination.host}/first:v1",
         f"dir:{out}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert (out / digest_of(base).split(":", 1)[1]).read_bytes() == base
    assert skopeo_digest(f"{destination.host}/empty-yet:v1") == images[0].digest


def test_a_registry_that_answers_mounts_with_an_error_still_gets_every_image(
    registry: Registry, other_registry: Registry, other_proxy: FaultProxy,
    repo: Callable[[str], str], promoter: Promoter, skopeo: str, tmp_path: Path,
) -> None:  # fmt: skip
    """A mount only saves an upload: a registry that refuses every mount (405, as one
    without cross-repository mounts may) gets each blob uploaded instead."""
    _, images = shared_base_images(3, "refused")
    refuse = other_proxy.add(
        Fault("status", method="POST", path=r"[?&]mount=", status=405, times=None)
    )
    source, destination = repo("src"), repo("dst")
    batch = _staged_batch(images, registry, source, f"{other_proxy.host}/{destination}", tmp_path)

    run = promoter("copy", "--batch", str(batch), "-o", "json")

    assert run.code == 0, run.stderr
    assert refuse.fired >= 2  # the base layer's mounts were refused
    assert all(c["blobs"]["mounted"] == 0 for c in run.json["copies"])
    for i, image in enumerate(images):
        assert skopeo_digest(f"{other_registry.host}/{destination}-{i}:v1") == image.digest


def test_when_the_first_upload_fails_a_waiting_copy_uploads_the_blob_itself(
    registry: Registry, other_registry: Registry, other_proxy: FaultProxy,
    repo: Callable[[str], str], promoter: Promoter, skopeo: str, tmp_path: Path,
) -> None:  # fmt: skip
    from tests.support.images import digest_of

    base, images = shared_base_images(2, f"fails-{uuid.uuid4().hex[:6]}")
    hex_part = digest_of(base).split(":", 1)[1]
    # the first upload of the base layer is refused; the copy that made it fails
    other_proxy.add(Fault("status", method="PUT", path=hex_part, status=403))
    source, destination = repo("src"), repo("dst")
    batch = _staged_batch(images, registry, source, f"{other_proxy.host}/{destination}", tmp_path)

    run = promoter("copy", "--batch", str(batch), "-j", "2")

    assert run.code == 3
    failed = [line for line in run.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1
    survivor = next(i for i in range(2) if f"{destination}-{i}:v1" not in failed[0])
    assert "blobs: 3 copied" in run.stdout  # the survivor uploaded the base layer itself
    reference = f"{other_registry.host}/{destination}-{survivor}:v1"
    assert skopeo_digest(reference) == images[survivor].digest
