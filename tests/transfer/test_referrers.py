"""``--referrers``: OCI 1.1 referrers (tag-schema fallback) and cosign's tags follow the image."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.support.images import (
    Image,
    make_artifact,
    make_image,
    make_index,
    make_platform_index,
    push_http,
)
from tests.support.registry import Registry
from tests.transfer.conftest import CliRun
from tests.transfer.test_copy_registry import manifest_digest

Repo = Callable[[str], str]
Promoter = Callable[..., CliRun]


def fallback_tag(digest: str) -> str:
    return digest.replace(":", "-")


def cosign_signature(subject: Image) -> Image:
    """A cosign-style signature manifest (simple signing payload as its one layer)."""
    payload = json.dumps(
        {
            "critical": {
                "image": {"docker-manifest-digest": subject.digest},
                "type": "cosign container image signature",
            }
        }
    ).encode()
    return make_image(
        layers=[payload],
        layer_media_type="application/vnd.dev.cosign.simplesigning.v1+json",
        seed=f"sig-{subject.digest}",
    )


def cosign_attachment(subject: Image, layer_media_type: str, payload: bytes) -> Image:
    """A cosign-style attestation (``.att``: a DSSE envelope) or SBOM (``.sbom``)."""
    return make_image(
        layers=[payload], layer_media_type=layer_media_type, seed=f"{payload!r}-{subject.digest}"
    )


def referrers_index(*artifacts: Image) -> Image:
    """The tag-schema fallback index listing ``artifacts`` (as an OCI 1.1 client writes it)."""
    return make_index(artifacts)


def fetch_json(registry: Registry, repository: str, ref: str) -> dict[str, object]:
    raw = subprocess.run(
        ["curl", "-sf", "-H", "Accept: application/vnd.oci.image.index.v1+json",
         f"{registry.url}/v2/{repository}/manifests/{ref}"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    loaded: dict[str, object] = json.loads(raw)
    return loaded


def test_referrers_and_cosign_tags_follow_the_image(
    registry: Registry, other_registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    image = make_platform_index(seed="signed")
    sbom = make_artifact(image, artifact_type="application/spdx+json")
    provenance = make_artifact(image, artifact_type="application/vnd.in-toto+json", payload=b"{}x")
    signature = cosign_signature(image)
    src, dst = repo("staging"), repo("prod")
    push_http(image, registry.url, src, "1.0")
    push_http(sbom, registry.url, src)
    push_http(provenance, registry.url, src)
    fallback = referrers_index(sbom, provenance)
    push_http(fallback, registry.url, src, fallback_tag(image.digest))
    push_http(signature, registry.url, src, fallback_tag(image.digest) + ".sig")
    attestation = cosign_attachment(
        image, "application/vnd.dsse.envelope.v1+json", b'{"payloadType":"in-toto"}'
    )
    spdx = cosign_attachment(image, "text/spdx+json", b'{"spdxVersion":"SPDX-2.3"}')
    push_http(attestation, registry.url, src, fallback_tag(image.digest) + ".att")
    push_http(spdx, registry.url, src, fallback_tag(image.digest) + ".sbom")

    run = promoter(
        "copy", "--referrers", f"{registry.host}/{src}:1.0", f"{other_registry.host}/{dst}:1.0",
        "-o", "json",
    )  # fmt: skip

    assert run.code == 0, run.stderr
    doc = run.json
    assert set(doc["referrers"]) >= {sbom.digest, provenance.digest, signature.digest}
    assert manifest_digest(other_registry.host, dst, "1.0") == image.digest
    assert manifest_digest(other_registry.host, dst, sbom.digest) == sbom.digest
    assert manifest_digest(other_registry.host, dst, provenance.digest) == provenance.digest
    for suffix, attached in ((".sig", signature), (".att", attestation), (".sbom", spdx)):
        tag = fallback_tag(image.digest) + suffix
        assert manifest_digest(other_registry.host, dst, tag) == attached.digest, suffix
        assert attached.digest in doc["referrers"]
    # The destination has no referrers API (distribution 2.8): the fallback index is
    # written, here byte for byte the source's since it lists exactly the same.
    assert manifest_digest(other_registry.host, dst, fallback_tag(image.digest)) == fallback.digest


def test_referrers_merge_into_an_existing_fallback_index(
    registry: Registry, other_registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    image = make_image(seed="merge")
    theirs = make_artifact(image, artifact_type="application/vnd.example.scan", payload=b"scan")
    ours = make_artifact(image, artifact_type="application/spdx+json", payload=b"sbom")
    src, dst = repo("staging"), repo("prod")
    push_http(image, registry.url, src, "1")
    push_http(ours, registry.url, src)
    push_http(referrers_index(ours), registry.url, src, fallback_tag(image.digest))
    push_http(image, other_registry.url, dst, "1")
    push_http(theirs, other_registry.url, dst)
    push_http(referrers_index(theirs), other_registry.url, dst, fallback_tag(image.digest))

    run = promoter("copy", "--referrers", f"{registry.host}/{src}:1", f"{other_registry.host}/{dst}:1", "-o", "json")  # fmt: skip

    assert run.code == 0, run.stderr
    assert run.json["upToDate"] is True  # the image was there; only referrers moved
    listed = fetch_json(other_registry, dst, fallback_tag(image.digest))
    digests = {m["digest"] for m in listed["manifests"]}  # type: ignore[union-attr]
    assert digests == {theirs.digest, ours.digest}


def test_without_flag_referrers_stay_behind(
    registry: Registry, other_registry: Registry, repo: Repo, promoter: Promoter
) -> None:
    image = make_image(seed="unsigned")
    signature = cosign_signature(image)
    src, dst = repo("staging"), repo("prod")
    push_http(image, registry.url, src, "1")
    push_http(signature, registry.url, src, fallback_tag(image.digest) + ".sig")

    run = promoter("copy", f"{registry.host}/{src}:1", f"{other_registry.host}/{dst}:1")

    assert run.code == 0, run.stderr
    assert manifest_digest(other_registry.host, dst, fallback_tag(image.digest) + ".sig") is None


def test_referrers_travel_through_an_oci_layout(
    registry: Registry, other_registry: Registry, repo: Repo, promoter: Promoter, tmp_path: Path
) -> None:
    image = make_image(seed="via-layout")
    sbom = make_artifact(image, artifact_type="application/spdx+json", payload=b"layout-sbom")
    src, dst = repo("staging"), repo("prod")
    push_http(image, registry.url, src, "1")
    push_http(sbom, registry.url, src)
    push_http(referrers_index(sbom), registry.url, src, fallback_tag(image.digest))
    layout = tmp_path / "layout"

    down = promoter("copy", "--referrers", f"{registry.host}/{src}:1", f"oci:{layout}:1")
    up = promoter("copy", "--referrers", f"oci:{layout}:1", f"{other_registry.host}/{dst}:1")

    assert down.code == 0, down.stderr
    listed = json.loads((layout / "index.json").read_text())["manifests"]
    assert {m["digest"] for m in listed} >= {image.digest, sbom.digest}
    assert up.code == 0, up.stderr
    assert manifest_digest(other_registry.host, dst, "1") == image.digest
    assert manifest_digest(other_registry.host, dst, sbom.digest) == sbom.digest
    fallback = fetch_json(other_registry, dst, fallback_tag(image.digest))
    assert [m["digest"] for m in fallback["manifests"]] == [sbom.digest]  # type: ignore[index]
