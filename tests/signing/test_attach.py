"""Attaching signatures and attestations to an image in a real registry: cosign's
``.sig``/``.att`` tag form (appended, never dropping another signer, never doubled)
and the OCI referrer, read back with ``skopeo inspect --raw`` and with
promoter's own facts gathering and ``signed`` verification."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from promoter.oci.reference import Reference
from promoter.policy.facts import gather_facts
from promoter.policy.imagefacts import read_image_facts
from promoter.registry.access.options import RegistryOptions
from promoter.registry.remote.client import RegistryClient
from promoter.signing.attach import (
    ATTESTATION_ARTIFACT_TYPE,
    attach_attestation,
    attach_signature,
    signed_by,
)
from promoter.signing.cosign import (
    COSIGN_ARTIFACT_TYPE,
    SIMPLE_SIGNING,
    attestation_tag,
    signature_tag,
    verify_signatures,
)
from promoter.signing.dsse import ENVELOPE_MEDIA_TYPE, sign_envelope
from promoter.signing.keys import SigningKey, fingerprint
from promoter.signing.simplesigning import simple_signing_payload
from tests.support.images import make_image, push_http
from tests.support.real_parts import skopeo_raw


def _key() -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(private, fingerprint(private.public_key()))


@pytest.fixture
def client(registry) -> Iterator[RegistryClient]:
    options = RegistryOptions.from_environment(insecure_registries=[registry.host])
    with RegistryClient(registry.host, options) as made:
        yield made


def _skopeo_raw(host: str, repository: str, tag: str) -> dict:
    return json.loads(skopeo_raw(f"{host}/{repository}:{tag}"))


def _sign(client: RegistryClient, repository: str, digest: str, key: SigningKey):
    payload = simple_signing_payload(f"{client.host}/{repository}", digest)
    signature = base64.b64encode(key.sign(payload)).decode()
    return attach_signature(client, repository, digest, payload, signature)


def test_signatures_append_keep_other_signers_and_never_double(registry, client) -> None:
    repository = "attach/sig"
    digest = push_http(make_image(seed="attach-sig"), registry.url, repository, "v1")
    first, second = _key(), _key()

    one = _sign(client, repository, digest, first)
    assert one.new and one.tag == signature_tag(digest)
    two = _sign(client, repository, digest, second)
    assert two.new and two.tag_manifest != one.tag_manifest

    manifest = _skopeo_raw(registry.host, repository, signature_tag(digest))
    assert [layer["mediaType"] for layer in manifest["layers"]] == [SIMPLE_SIGNING] * 2
    assert manifest["layers"][0]["digest"] == one.layer
    config = json.loads(client.get_blob_bytes(repository, manifest["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == [one.layer, two.layer]

    # The same layer again (same payload, same signature) adds nothing.
    layer = manifest["layers"][0]
    payload = client.get_blob_bytes(repository, layer["digest"])
    again = attach_signature(
        client,
        repository,
        digest,
        payload,
        layer["annotations"]["dev.cosignproject.cosign/signature"],
    )
    assert not again.new and again.tag_manifest == two.tag_manifest
    assert again.referrer == one.referrer

    facts = gather_facts(client, Reference(registry.host, repository, tag="v1"))
    for key in (first, second):
        signatures = read_image_facts(facts).signatures
        checks = verify_signatures(signatures, digest, key.private.public_key())
        assert {c.source for c in checks if c.verified} == {"tag", "referrers"}
        assert signed_by(client, repository, digest, [key.private.public_key()])
    assert not signed_by(client, repository, digest, [_key().private.public_key()])


def test_signature_referrer_is_listed(registry, client) -> None:
    repository = "attach/referrer"
    digest = push_http(make_image(seed="attach-ref"), registry.url, repository, "v1")
    attached = _sign(client, repository, digest, _key())
    found = client.referrers(repository, digest, artifact_type=COSIGN_ARTIFACT_TYPE)
    assert [d.digest for d in found] == [attached.referrer]
    referrer = json.loads(
        client.get_manifest(Reference(registry.host, repository, digest=attached.referrer)).raw
    )
    assert referrer["subject"]["digest"] == digest
    assert referrer["layers"][0]["digest"] == attached.layer


def test_attestations_at_att_tag_and_as_referrer(registry, client) -> None:
    repository = "attach/att"
    digest = push_http(make_image(seed="attach-att"), registry.url, repository, "v1")
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": []}).encode()
    envelope = sign_envelope(statement, _key())
    predicate = "https://slsa.dev/provenance/v1"

    first = attach_attestation(client, repository, digest, envelope, predicate)
    assert first.new and first.tag == attestation_tag(digest)
    other = sign_envelope(statement, _key())
    attach_attestation(client, repository, digest, other, predicate)
    repeat = attach_attestation(client, repository, digest, envelope, predicate)
    assert not repeat.new

    manifest = _skopeo_raw(registry.host, repository, attestation_tag(digest))
    assert [layer["mediaType"] for layer in manifest["layers"]] == [ENVELOPE_MEDIA_TYPE] * 2
    assert manifest["layers"][0]["annotations"]["predicateType"] == predicate
    assert client.get_blob_bytes(repository, manifest["layers"][0]["digest"]) == envelope.to_bytes()
    found = client.referrers(repository, digest, artifact_type=ATTESTATION_ARTIFACT_TYPE)
    assert len(found) == 2
