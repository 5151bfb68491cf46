"""Gathering image facts from a real registry: the document's content, and its cost in
requests, counted on the wire by a proxy in front of the registry."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from promoter.policy.imagecheck import fetch_facts
from promoter.registry.access.options import RegistryOptions
from tests.policy.crafting import attach, generate_key, push, signature_image
from tests.support.fault_proxy import FaultProxy
from tests.support.images import Image, make_artifact, make_image, make_index
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


@pytest.fixture
def proxy(policy_registry: Registry) -> Iterator[FaultProxy]:
    with FaultProxy(policy_registry.host) as counting:
        yield counting


def _fetch(proxy: FaultProxy, reference: str) -> dict:
    options = RegistryOptions.from_environment(insecure_registries=[proxy.host])
    return fetch_facts(f"{proxy.host}/{reference}", options)


def _two_platforms(seed: str):
    amd64 = make_image(
        seed=f"{seed}-amd64",
        layer_sizes=[1000, 3000],
        user="app",
        labels={"team": "web"},
        env=["PATH=/usr/bin", "MODE=prod"],
        cmd=["/app", "--serve"],
        annotations={"org.opencontainers.image.base.name": "alpine:3.20"},
    )
    arm64 = make_image(seed=f"{seed}-arm64", layer_sizes=[5000], architecture="arm64", variant="v8")
    return make_index([amd64, arm64]), amd64, arm64


def test_facts_of_a_two_platform_index(policy_registry: Registry, proxy: FaultProxy) -> None:
    index, amd64, arm64 = _two_platforms("facts")
    push(index, policy_registry.url, "facts/app", "1")
    facts = _fetch(proxy, "facts/app:1")
    assert facts["digest"] == index.digest
    assert facts["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [m["platform"] for m in facts["index"]["manifests"]] == ["linux/amd64", "linux/arm64/v8"]
    first, second = facts["platforms"]
    assert first["digest"] == amd64.digest and second["digest"] == arm64.digest
    assert first["platform"] == "linux/amd64" and second["platform"] == "linux/arm64/v8"
    layer_sizes = [layer["size"] for layer in amd64.manifest["layers"]]
    assert first["layersSize"] == sum(layer_sizes)
    assert first["totalSize"] == sum(layer_sizes) + amd64.manifest["config"]["size"]
    assert first["user"] == "app" and second["user"] == ""
    assert first["labels"] == {"team": "web"}
    assert first["env"] == ["PATH=/usr/bin", "MODE=prod"]
    assert first["cmd"] == ["/app", "--serve"]
    assert first["annotations"] == {"org.opencontainers.image.base.name": "alpine:3.20"}
    assert first["created"] == "2024-01-01T00:00:00Z"
    assert [h["createdBy"] for h in first["history"]] == ["layer 0", "layer 1"]
    assert facts["referrers"] == [] and facts["signatures"] == []
    json.dumps(facts)  # a plain JSON document


def test_gathering_costs_few_requests_and_no_layer(
    policy_registry: Registry, proxy: FaultProxy
) -> None:
    index, amd64, arm64 = _two_platforms("cost")
    push(index, policy_registry.url, "facts/cost", "1")
    _fetch(proxy, "facts/cost:1")
    bare = proxy.exchanges()
    # /v2/, the index, 2 manifests, 2 configs, referrers API, referrers tag, cosign's
    # .sig and .att tags
    assert len(bare) <= 10, [(e.method, e.path) for e in bare]
    layers = {layer["digest"] for image in (amd64, arm64) for layer in image.manifest["layers"]}
    assert not any(any(d in e.path for d in layers) for e in bare)
    paths = [(e.method, e.path) for e in bare]
    assert len(paths) == len(set(paths)), "something was fetched twice"

    attach(make_artifact(index), index.digest, policy_registry.url, "facts/cost")
    key = generate_key()
    sig_tag = index.digest.replace(":", "-") + ".sig"
    push(
        signature_image(key, index.digest, "facts/cost"), policy_registry.url, "facts/cost", sig_tag
    )
    proxy.reset_counters()
    facts = _fetch(proxy, "facts/cost:1")
    full = proxy.exchanges()
    # + the referrers index and the signature's payload blob
    assert len(full) <= 12, [(e.method, e.path) for e in full]
    assert [r["artifactType"] for r in facts["referrers"]] == ["application/spdx+json"]
    (signature,) = facts["signatures"]
    assert signature["source"] == "tag"
    payload = json.loads(base64.b64decode(signature["layers"][0]["payload"]))
    assert payload["critical"]["image"]["docker-manifest-digest"] == index.digest
    assert facts["gathered"]["requests"] >= len(full)


def test_single_manifest_image_and_docker_media_types(
    policy_registry: Registry, proxy: FaultProxy
) -> None:
    image = make_image(seed="docker", docker=True, user="1000", architecture="arm", variant="v7")
    push(image, policy_registry.url, "facts/docker", "1")
    facts = _fetch(proxy, "facts/docker:1")
    assert facts["index"] is None
    (platform,) = facts["platforms"]
    assert platform["platform"] == "linux/arm/v7"
    assert platform["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert platform["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert platform["user"] == "1000"


def test_an_artifact_has_no_image_config_fetched(
    policy_registry: Registry, proxy: FaultProxy
) -> None:
    subject = make_image(seed="artifact-subject")
    artifact = make_artifact(subject, artifact_type="application/vnd.example.thing")
    push(artifact, policy_registry.url, "facts/artifact", "1")
    facts = _fetch(proxy, "facts/artifact:1")
    (platform,) = facts["platforms"]
    assert platform["artifactType"] == "application/vnd.example.thing"
    assert platform["platform"] == "unknown/unknown"
    assert proxy.count(path="/blobs/") == 0


def test_buildx_attestations_in_the_index_are_referrers_not_platforms(
    policy_registry: Registry, proxy: FaultProxy
) -> None:
    image = make_image(seed="buildx", user="app")
    statement = (
        b'{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document"}'
    )
    attestation = make_image(
        seed="buildx-att",
        layers=[statement],
        layer_media_type="application/vnd.in-toto+json",
        os_name="unknown",
        architecture="unknown",
    )
    entry = attestation.descriptor(
        annotations={
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": image.digest,
        }
    )
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [image.descriptor(), entry],
        },
        separators=(",", ":"),
    ).encode()
    index = Image(
        "application/vnd.oci.image.index.v1+json",
        raw,
        {**image.blobs, **attestation.blobs},
        (image, attestation),
    )
    push(index, policy_registry.url, "facts/buildx", "1")
    facts = _fetch(proxy, "facts/buildx:1")
    assert [p["platform"] for p in facts["platforms"]] == ["linux/amd64"]
    assert [(r["artifactType"], r["source"], r["digest"]) for r in facts["referrers"]] == [
        ("application/vnd.in-toto+json", "index", attestation.digest)
    ]
    assert proxy.count(path=attestation.digest) == 0  # listed, not fetched


@pytest.mark.skopeo
def test_an_index_pushed_by_skopeo_is_read_as_written(
    policy_registry: Registry, proxy: FaultProxy, tmp_path
) -> None:
    from tests.support.real_parts import require, tool_missing

    require(tool_missing("skopeo"))
    from tests.support.images import push_with_skopeo, write_layout

    index, amd64, arm64 = _two_platforms("skopeo")
    layout = write_layout(tmp_path / "layout", {"v1": index})
    push_with_skopeo(layout, "v1", f"{policy_registry.host}/facts/skopeo:v1")
    facts = _fetch(proxy, "facts/skopeo:v1")
    assert facts["digest"] == index.digest  # --preserve-digests: the same bytes
    assert [p["digest"] for p in facts["platforms"]] == [amd64.digest, arm64.digest]
    assert facts["platforms"][0]["labels"] == {"team": "web"}
