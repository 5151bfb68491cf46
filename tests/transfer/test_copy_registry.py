"""``promoter copy`` between real registries: mount, stream, skip, indexes, artifacts."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.support.fault_proxy import FaultProxy
from tests.support.images import (
    make_artifact,
    make_helm_chart,
    make_image,
    make_index,
    make_platform_index,
    push_http,
)
from tests.support.registry import Registry
from tests.transfer.conftest import CliRun

Repo = Callable[[str], str]
Promoter = Callable[..., CliRun]


def manifest_digest(host: str, repository: str, tag: str) -> str | None:
    """The digest a tag points at, read with curl (an outside reader)."""
    out = subprocess.run(
        [
            "curl", "-sfI",
            "-H", "Accept: application/vnd.oci.image.index.v1+json, "
            "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.docker.distribution.manifest.v2+json, "
            "application/vnd.docker.distribution.manifest.list.v2+json",
            f"http://{host}/v2/{repository}/manifests/{tag}",
        ],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if out.returncode != 0:
        return None
    for line in out.stdout.splitlines():
        if line.lower().startswith("docker-content-digest:"):
            return line.split(":", 1)[1].strip()
    return None


def test_same_registry_mounts_and_moves_no_blob_bytes(
    registry: Registry, proxy: FaultProxy, repo: Repo, promoter: Promoter
) -> None:
    image = make_image(layer_sizes=[300_000, 200_000, 100_000], seed="mount")
    src, dst = repo("staging"), repo("prod")
    push_http(image, registry.url, src, "1.0")
    proxy.reset_counters()

    run = promoter("copy", f"{proxy.host}/{src}:1.0", f"{proxy.host}/{dst}:1.0", "-o", "json")

    assert run.code == 0, run.stderr
    doc = run.json
    assert doc["digest"] == image.digest
    assert doc["blobs"] == {"copied": 0, "mounted": 4, "skipped": 0}
    assert doc["bytes"]["copied"] == 0
    assert proxy.uploaded_blob_bytes() == 0
    assert proxy.downloaded_blob_bytes() == 0
    assert proxy.count("PATCH") == 0
    assert manifest_digest(registry.host, dst, "1.0") == image.digest


def test_across_registries_streams_every_blob(
    registry: Registry,
    other_registry: Registry,
    other_proxy: FaultProxy,
    repo: Repo,
    promoter: Promoter,
) -> None:
    image = make_image(layer_sizes=[1_500_000, 700_000], seed="across", user="1000")
    src, dst = repo("staging"), repo("prod")
    push_http(image, registry.url, src, "v1")

    run = promoter(
        "copy", f"{registry.host}/{src}:v1", f"{other_proxy.host}/{dst}:v1", "-o", "json"
    )

    assert run.code == 0, run.stderr
    doc = run.json
    assert doc["digest"] == image.digest
    assert doc["blobs"]["copied"] == 3
    assert doc["bytes"]["copied"] == image.blob_bytes
    assert other_proxy.uploaded_blob_bytes() == image.blob_bytes
    assert doc["tagsWritten"] == ["v1"]
    assert manifest_digest(other_registry.host, dst, "v1") == image.digest


def test_rerun_with_nothing_to_do_costs_about_one_request(
    registry: Registry, other_registry: Registry, proxy: FaultProxy, other_proxy: FaultProxy,
    repo: Repo, promoter: Promoter,
) -> None:  # fmt: skip
    image = make_image(layer_sizes=[50_000], seed="rerun")
    src, dst = repo("staging"), repo("prod")
    push_http(image, registry.url, src, "v2")
    first = promoter("copy", f"{proxy.host}/{src}:v2", f"{other_proxy.host}/{dst}:v2")
    assert first.code == 0, first.stderr
    proxy.reset_counters()
    other_proxy.reset_counters()

    again = promoter("copy", f"{proxy.host}/{src}:v2", f"{other_proxy.host}/{dst}:v2", "-o", "json")

    assert again.code == 0, again.stderr
    assert again.json["upToDate"] is True
    # One request on each side (GET the source manifest, HEAD the destination tag),
    # plus the /v2/ ping each new process makes.
    assert proxy.count("GET", path="/manifests/") == 1 and other_proxy.count("HEAD") == 1
    assert proxy.count() - proxy.count(path="^/v2/$") == 1, [
        (x.method, x.path, x.status) for x in proxy.log
    ]
    assert other_proxy.count() - other_proxy.count(path="^/v2/$") == 1
    assert other_proxy.count("PUT") == 0


#: What a copy with nothing to do must not import, and why each is left out (issue #24:
#: start-up is most of a re-run's time). A module here that a re-run imports again
#: costs every CI job that promotes what is already there.
RERUN_LEAVES_OUT = {
    "dataclasses": "@struct makes the value classes (dataclasses also imports inspect)",
    "inspect": "imported only by dataclasses",
    "typing": "annotations are strings; typing's names are for the type checker",
    "logging": "notes go to the CLI's listener (promoter.notices)",
    "concurrent.futures": "the copy's pool starts on its first task (it imports logging)",
    "traceback": "--debug and crashes only",
    "pathlib": "a Docker config is read only when a registry asks for credentials",
    "yaml": "no pipeline file in a copy",
    "encodings.idna": "an ASCII host name goes to the resolver and TLS as bytes",
    "argparse": "a well-formed command line is read by promoter.cli.quickparse",
}


def test_a_rerun_with_nothing_to_do_imports_only_what_it_uses(
    registry: Registry, other_registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    index = make_platform_index(seed="rerun-imports", layer_sizes=[20_000])
    src, dst = repo("staging"), repo("prod")
    push_http(index, registry.url, src, "v1")
    first = promoter("copy", f"{registry.host}/{src}:v1", f"{other_registry.host}/{dst}:v1")
    assert first.code == 0, first.stderr

    again = promoter(
        "copy", "-o", "json", f"{registry.host}/{src}:v1", f"{other_registry.host}/{dst}:v1",
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )  # fmt: skip

    assert again.code == 0, again.stderr
    assert again.json["upToDate"] is True
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in again.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "promoter.transfer.engine" in imported  # the import report is there to read
    assert {name: why for name, why in RERUN_LEAVES_OUT.items() if name in imported} == {}


def test_existing_blobs_are_skipped(
    registry: Registry, other_registry: Registry, other_proxy: FaultProxy, repo: Repo,
    promoter: Promoter,
) -> None:  # fmt: skip
    shared_layer = make_image(layer_sizes=[400_000], seed="shared").blobs
    layer = next(data for data in shared_layer.values() if len(data) > 1000)
    first = make_image(layers=[layer], seed="first", labels={"n": "1"})
    second = make_image(layers=[layer], seed="second", labels={"n": "2"})
    src, dst = repo("staging"), repo("prod")
    push_http(first, registry.url, src, "a")
    push_http(second, registry.url, src, "b")
    assert promoter("copy", f"{registry.host}/{src}:a", f"{other_proxy.host}/{dst}:a").code == 0
    other_proxy.reset_counters()

    run = promoter("copy", f"{registry.host}/{src}:b", f"{other_proxy.host}/{dst}:b", "-o", "json")

    assert run.code == 0, run.stderr
    assert run.json["blobs"] == {"copied": 1, "mounted": 0, "skipped": 1}
    assert other_proxy.uploaded_blob_bytes() < 2000  # only the new config moved


def test_multi_platform_index_children_first(
    registry: Registry, other_registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    index = make_platform_index(seed="multi", layer_sizes=[30_000, 20_000])
    src, dst = repo("staging"), repo("prod")
    push_http(index, registry.url, src, "multi")

    run = promoter("copy", f"{registry.host}/{src}:multi", f"{other_registry.host}/{dst}:multi", "-o", "json")  # fmt: skip

    assert run.code == 0, run.stderr
    doc = run.json
    assert doc["digest"] == index.digest
    assert doc["manifestsWritten"] == [c.digest for c in index.children] + [index.digest]
    assert doc["blobs"]["copied"] == len(index.blobs)
    for child in index.children:
        assert manifest_digest(other_registry.host, dst, child.digest) == child.digest
    assert manifest_digest(other_registry.host, dst, "multi") == index.digest


def test_docker_media_types_keep_their_digest(
    registry: Registry, other_registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    manifest_list = make_index(
        [
            make_image(docker=True, seed="d1"),
            make_image(docker=True, seed="d2", architecture="arm64"),
        ],
        docker=True,
    )
    src, dst = repo("staging"), repo("prod")
    push_http(manifest_list, registry.url, src, "docker")

    run = promoter("copy", f"{registry.host}/{src}:docker", f"{other_registry.host}/{dst}:docker", "-o", "json")  # fmt: skip

    assert run.code == 0, run.stderr
    assert run.json["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert manifest_digest(other_registry.host, dst, "docker") == manifest_list.digest


def test_artifact_with_subject_and_helm_chart(
    registry: Registry, other_registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    image = make_image(seed="subject")
    sbom = make_artifact(image)
    chart = make_helm_chart("web", "1.2.3")
    src, dst = repo("staging"), repo("prod")
    push_http(image, registry.url, src, "app")
    push_http(sbom, registry.url, src)
    push_http(chart, registry.url, src, "chart-1.2.3")

    by_digest = promoter("copy", f"{registry.host}/{src}@{sbom.digest}", f"{other_registry.host}/{dst}@{sbom.digest}", "-o", "json")  # fmt: skip
    helm = promoter("copy", f"{registry.host}/{src}:chart-1.2.3", f"{other_registry.host}/{dst}:chart-1.2.3")  # fmt: skip

    assert by_digest.code == 0, by_digest.stderr
    assert by_digest.json["digest"] == sbom.digest
    assert by_digest.json["tagsWritten"] == []
    assert manifest_digest(other_registry.host, dst, sbom.digest) == sbom.digest
    assert helm.code == 0, helm.stderr
    assert manifest_digest(other_registry.host, dst, "chart-1.2.3") == chart.digest


def test_no_clobber_refuses_to_move_a_tag_but_accepts_the_same_digest(
    registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    old, new = make_image(seed="old"), make_image(seed="new")
    src, dst = repo("staging"), repo("prod")
    push_http(old, registry.url, dst, "1.0")
    push_http(new, registry.url, src, "1.0")
    push_http(old, registry.url, src, "old")

    refused = promoter("copy", "--no-clobber", f"{registry.host}/{src}:1.0", f"{registry.host}/{dst}:1.0")  # fmt: skip
    same = promoter("copy", "--no-clobber", f"{registry.host}/{src}:old", f"{registry.host}/{dst}:1.0")  # fmt: skip

    assert refused.code == 1, refused.stderr
    assert "already points at" in refused.stderr.splitlines()[0]
    assert "Traceback" not in refused.stderr
    assert manifest_digest(registry.host, dst, "1.0") == old.digest
    assert same.code == 0, same.stderr
    moved = promoter("copy", f"{registry.host}/{src}:1.0", f"{registry.host}/{dst}:1.0")
    assert moved.code == 0, moved.stderr
    assert manifest_digest(registry.host, dst, "1.0") == new.digest


def test_bad_reference_is_bad_input(promoter: Promoter) -> None:
    run = promoter("copy", "127.0.0.1:1/UPPER:tag", "127.0.0.1:1/x:y")
    assert run.code == 2
    assert len(run.stderr.strip().splitlines()) <= 2
    assert "Traceback" not in run.stderr


def test_missing_source_fails_with_exit_3(
    registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    run = promoter("copy", f"{registry.host}/{repo('none')}:nope", f"{registry.host}/{repo('x')}:y")
    assert run.code == 3
    assert "Traceback" not in run.stderr


def test_batch_copies_many_images_in_one_session(
    registry: Registry, other_registry: Registry, other_proxy: FaultProxy, repo: Repo,
    promoter: Promoter, tmp_path: Path,
) -> None:  # fmt: skip
    images = [make_image(layer_sizes=[10_000, 5_000], seed=f"batch-{i}") for i in range(5)]
    src, dst = repo("staging"), repo("prod")
    lines = ["# SRC DST"]
    for i, image in enumerate(images):
        push_http(image, registry.url, src, f"v{i}")
        lines.append(f"{registry.host}/{src}:v{i}  {other_proxy.host}/{dst}:v{i}")
    batch = tmp_path / "pairs.txt"
    batch.write_text("\n".join(lines) + "\n")

    run = promoter("copy", "--batch", str(batch), "-o", "json")
    connections, requests = other_proxy.connections, other_proxy.count()
    again = promoter("copy", "--batch", str(batch), "-o", "json")

    assert run.code == 0, run.stderr
    assert [c["digest"] for c in run.json["copies"]] == [i.digest for i in images]
    assert connections * 4 <= requests  # one pooled client: connections are reused
    for i, image in enumerate(images):
        assert manifest_digest(other_registry.host, dst, f"v{i}") == image.digest
    assert again.code == 0, again.stderr
    assert all(c["upToDate"] for c in again.json["copies"])


def test_batch_line_errors_are_bad_input(promoter: Promoter, tmp_path: Path) -> None:
    batch = tmp_path / "pairs.txt"
    batch.write_text("only-one-word\n")
    run = promoter("copy", "--batch", str(batch))
    assert run.code == 2
    assert "pairs.txt:1" in run.stderr
    assert promoter("copy", "onlysrc").code == 2
