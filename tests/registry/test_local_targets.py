"""Local transports: OCI image layouts (read and write) and docker archives (read)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from promoter.errors import InputError
from promoter.oci import LayoutReference, Manifest, parse_reference
from promoter.oci import mediatypes as mt
from promoter.registry import (
    ArchiveSource,
    LayoutTarget,
    Registries,
    RegistryOptions,
    open_target,
)
from tests.conftest import require_tool
from tests.support.images import make_image, make_platform_index, write_docker_archive, write_layout
from tests.support.registry import Registry


def _copy_manifest_graph(source, destination, tag: str) -> str:  # type: ignore[no-untyped-def]
    """A minimal graph copy through the Target interface (the engine's walk, by hand)."""
    root = source.resolve()

    def copy(raw_manifest) -> None:  # type: ignore[no-untyped-def]
        view = raw_manifest.parse()
        if isinstance(view, Manifest):
            for blob in view.blobs:
                if not destination.blob_exists(blob.digest):
                    destination.put_blob(blob, source.blob_opener(blob.digest))
        else:
            for child in view.manifests:
                child_raw = source.get_manifest(child.digest)
                copy(child_raw)
                destination.put_manifest(child_raw.raw, child_raw.media_type, child.digest)

    copy(root)
    return str(destination.put_manifest(root.raw, root.media_type, tag))


def test_layout_written_by_others_is_read(tmp_path: Path) -> None:
    image = make_image(seed="lay")
    index = make_platform_index(seed="lay2")
    write_layout(tmp_path / "lay", {"one": image, "multi": index})
    target = open_target(f"oci:{tmp_path / 'lay'}:multi")
    resolved = target.resolve()
    assert resolved.raw == index.manifest_bytes and resolved.digest == index.digest
    child = target.get_manifest(index.children[0].digest)
    assert child.raw == index.children[0].manifest_bytes
    assert sorted(target.list_tags()) == ["multi", "one"]
    assert target.tag_digest("one") == image.digest
    config = image.config_digest
    assert config is not None
    assert target.get_blob_bytes(config) == image.blobs[config]
    with pytest.raises(InputError, match="lists 2 images"):
        open_target(f"oci:{tmp_path / 'lay'}").resolve()


def test_missing_layout_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no OCI image layout"):
        open_target(f"oci:{tmp_path / 'absent'}")


def test_layout_write_then_skopeo_reads(tmp_path: Path) -> None:
    index = make_platform_index(seed="w")
    source_dir = write_layout(tmp_path / "src", {"v1": index})
    source = open_target(f"oci:{source_dir}:v1")
    destination = LayoutTarget(LayoutReference(str(tmp_path / "dst")), create=True)
    digest = _copy_manifest_graph(source, destination, "v1")
    assert digest == index.digest
    # Writing the same tag again replaces the entry instead of duplicating it.
    destination.put_manifest(index.manifest_bytes, index.media_type, "v1")
    entries = json.loads((tmp_path / "dst" / "index.json").read_text())["manifests"]
    assert [e["digest"] for e in entries] == [index.digest]
    assert not list((tmp_path / "dst" / "blobs" / "sha256").glob(".partial-*"))
    if shutil.which("skopeo") is None:
        require_tool("skopeo not installed")
    result = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci:{tmp_path / 'dst'}:v1"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert result.stdout == index.manifest_bytes


def test_kaniko_archive_manifest_is_synthesised_from_stored_blobs(tmp_path: Path) -> None:
    image = make_image(seed="kan", docker=True, layer_sizes=(2000, 5000))
    path = write_docker_archive(tmp_path / "image.tar", image, ["reg.io/app:1"])
    source = ArchiveSource(parse_reference(f"docker-archive:{path}"))  # type: ignore[arg-type]
    root = source.resolve()
    assert root.media_type == mt.DOCKER_MANIFEST
    view = root.parse()
    assert isinstance(view, Manifest)
    assert view.config.digest == image.config_digest
    assert [layer.digest for layer in view.layers] == image.layer_digests
    assert [layer.size for layer in view.layers] == [
        len(image.blobs[d]) for d in image.layer_digests
    ]
    assert all(layer.media_type == mt.DOCKER_LAYER_GZIP for layer in view.layers)
    # Serialised as go-containerregistry does (compact; mediaType, size, digest), so
    # the digest equals the one kaniko reports for the same tarball.
    config = image.config_digest
    assert config is not None
    layers = ",".join(
        f'{{"mediaType":"{mt.DOCKER_LAYER_GZIP}","size":{len(image.blobs[d])},"digest":"{d}"}}'
        for d in image.layer_digests
    )
    expected = (
        f'{{"schemaVersion":2,"mediaType":"{mt.DOCKER_MANIFEST}","config":{{"mediaType":'
        f'"{mt.DOCKER_CONFIG}","size":{len(image.blobs[config])},"digest":"{config}"}},'
        f'"layers":[{layers}]}}'
    ).encode()
    assert root.raw == expected
    assert source.list_tags() == ["reg.io/app:1"]
    assert (
        b"".join(source.get_blob(image.layer_digests[1], 100))
        == (image.blobs[image.layer_digests[1]][100:])
    )
    with pytest.raises(InputError, match="read-only"):
        open_target(f"docker-archive:{path}", for_writing=True)


def test_archive_to_registry_then_skopeo_reads(tmp_path: Path, registry: Registry) -> None:
    image = make_image(seed="kan2", docker=True)
    path = write_docker_archive(tmp_path / "image.tar", image)
    with Registries(RegistryOptions()) as registries:
        source = open_target(f"docker-archive:{path}")
        destination = open_target(f"{registry.host}/archive/app:v1", registries)
        digest = _copy_manifest_graph(source, destination, "v1")
    if shutil.which("skopeo") is None:
        require_tool("skopeo not installed")
    result = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{registry.host}/archive/app:v1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout)["Digest"] == digest


def _rootfs_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = f"promoter archive test {uuid.uuid4()}\n".encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.docker
def test_docker_save_archive_is_read(tmp_path: Path) -> None:
    if shutil.which("docker") is None:
        require_tool("docker client not installed")
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        require_tool("no Docker engine reachable")
    name = f"promoter-test/archive:{uuid.uuid4().hex[:12]}"
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(_rootfs_tar())
    subprocess.run(["docker", "import", str(rootfs), name], check=True, capture_output=True)
    try:
        saved = tmp_path / "saved.tar"
        subprocess.run(["docker", "save", "-o", str(saved), name], check=True, timeout=120)
    finally:
        subprocess.run(["docker", "rmi", name], capture_output=True, timeout=60)
    source = open_target(f"docker-archive:{saved}")
    root = source.resolve()
    view = root.parse()
    assert isinstance(view, Manifest)
    config = json.loads(source.get_blob_bytes(view.config.digest))
    # An uncompressed layer's digest is its diff ID, as the config records it.
    assert [layer.digest for layer in view.layers] == config["rootfs"]["diff_ids"]
    assert all(layer.media_type in (mt.OCI_LAYER, mt.OCI_LAYER_GZIP) for layer in view.layers)
    assert source.list_tags() == [name]


def test_docker25_save_archive_serves_the_stored_manifest(tmp_path: Path) -> None:
    # Docker 25+ `docker save` writes an OCI layout inside the tar (and manifest.json).
    image = make_image(seed="d25")
    layout = write_layout(tmp_path / "lay", [image])
    archive = tmp_path / "saved.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(layout.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(layout)))
    source = open_target(f"docker-archive:{archive}")
    root = source.resolve()
    assert root.raw == image.manifest_bytes
    assert root.digest == image.digest
    config = image.config_digest
    assert config is not None
    assert source.get_blob_bytes(config) == image.blobs[config]


def test_compressed_archive_is_refused_clearly(tmp_path: Path) -> None:
    import gzip

    image = make_image(seed="gz", docker=True)
    plain = write_docker_archive(tmp_path / "image.tar", image)
    compressed = tmp_path / "image.tar.gz"
    compressed.write_bytes(gzip.compress(plain.read_bytes()))
    with pytest.raises(InputError, match="not an uncompressed tar"):
        open_target(f"docker-archive:{compressed}")
    with pytest.raises(InputError, match="no such file"):
        open_target(f"docker-archive:{tmp_path / 'absent.tar'}")
