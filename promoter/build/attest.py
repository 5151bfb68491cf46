"""After an image is pushed to staging: its SLSA provenance, signed, attached to its digests.

The statement (:mod:`promoter.signing.provenance`) names every digest the image
has in staging (each platform's manifest, and the index when there is one).
It goes into a DSSE envelope (``application/vnd.in-toto+json``), signed with the
pipeline's signing key when one is configured and with no signature when none
is, and is attached to each of those digests in the staging repository, in
cosign's ``sha256-<hex>.att`` tag form and as an OCI 1.1 referrer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from promoter.build.provenance_facts import RunFacts, image_build_facts
from promoter.build.report import ImageBuild, ProvenanceRecord
from promoter.oci.reference import parse_registry_reference
from promoter.signing.attach import attach_attestation
from promoter.signing.dsse import Envelope, sign_envelope, unsigned_envelope
from promoter.signing.provenance import provenance_statement_for
from promoter.signing.statement import PROVENANCE_PREDICATE, statement_bytes
from promoter.structs import replace

if TYPE_CHECKING:
    from promoter.build.spec import BuildSpec
    from promoter.config import Image, Pipeline
    from promoter.registry.remote.client import RegistryClient
    from promoter.registry.remote.pool import Registries
    from promoter.signing.keys import SigningKey

__all__ = ["AttachFunction", "attest_image"]

#: ``(client, repository, subject digest, envelope, predicate type)``: attach it.
AttachFunction = Callable[["RegistryClient", str, str, Envelope, str], object]


def _default_attach() -> AttachFunction:
    return attach_attestation


def attest_image(
    pipeline: Pipeline,
    image: Image,
    built: ImageBuild,
    specs: Sequence[BuildSpec],
    run: RunFacts,
    *,
    registries: Registries,
    key: SigningKey | None,
    started: datetime | None,
    finished: datetime | None,
    attach: AttachFunction | None = None,
) -> ImageBuild:
    """Attach ``built``'s provenance to its staging digests; ``built`` with the record."""
    facts = image_build_facts(
        pipeline,
        image,
        built,
        specs,
        run,
        registries=registries,
        started=started,
        finished=finished,
    )
    if not facts.subjects:
        return built
    payload = statement_bytes(provenance_statement_for(facts))
    envelope = sign_envelope(payload, key) if key is not None else unsigned_envelope(payload)
    put = attach or _default_attach()
    for repository, digest in facts.subjects:
        reference = parse_registry_reference(f"{repository}@{digest}")
        client = registries.client(reference.api_host)
        put(client, reference.repository, digest, envelope, PROVENANCE_PREDICATE)
    record = ProvenanceRecord(
        predicate_type=PROVENANCE_PREDICATE,
        subjects=tuple(digest for _, digest in facts.subjects),
        builder_id=facts.builder_id,
        signed_by=key.fingerprint if key is not None else None,
        unresolved=tuple(b.reference for b in facts.bases if b.digest is None),
    )
    return replace(built, provenance=record)
