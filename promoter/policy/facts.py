"""Gathering the facts document of one image from a registry, with few requests.

For an index of N platforms: the index, N manifests and N configs, the
referrers (API, or the ``sha256-<hex>`` tag schema), and cosign's
``sha256-<hex>.sig`` and ``.att`` tags; with a signature, its payload blobs; with
attestations or vulnerability reports, their envelopes and reports
(``promoter.policy.attestations``). Nothing is fetched twice and no image layer
is downloaded. Suspected credential values are
redacted before the document is returned (see ``promoter.policy.secrets``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Protocol

from promoter.errors import RegistryError
from promoter.oci import mediatypes as mt
from promoter.oci.descriptor import Descriptor
from promoter.oci.raw import RawManifest
from promoter.oci.reference import Reference
from promoter.policy.attestations import gather_attached, manifest_at_tag
from promoter.policy.facts_doc import FACTS_VERSION, Facts, platform_label, redact_facts
from promoter.signing.cosign import (
    COSIGN_ARTIFACT_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    attestation_tag,
    signature_tag,
)

__all__ = ["IN_TOTO", "ImageSource", "gather_facts"]

_IMAGE_CONFIGS = frozenset({mt.OCI_CONFIG, mt.DOCKER_CONFIG})
#: buildx puts attestations in the index as manifests with this annotation.
_DOCKER_REFERENCE_TYPE = "vnd.docker.reference.type"
#: The artifact type such an attestation manifest is recorded with.
IN_TOTO = "application/vnd.in-toto+json"
_MAX_CONFIG = 8 * 1024 * 1024
_MAX_PAYLOAD = 1024 * 1024


class ImageSource(Protocol):
    """The reads facts gathering needs (``promoter.registry.RegistryClient`` has them)."""

    def get_manifest(self, reference: Reference, *, accept: str = ...) -> RawManifest: ...

    def get_blob_bytes(
        self, repository: str, digest: str, *, max_size: int | None = None
    ) -> bytes: ...

    def referrers(
        self, repository: str, digest: str, *, artifact_type: str | None = None
    ) -> list[Descriptor]: ...


def _json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RegistryError(f"{what} is not valid JSON", reference=what) from None
    if not isinstance(document, dict):
        raise RegistryError(f"{what} is not a JSON object", reference=what)
    return document


def _descriptor_facts(entry: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, object] = {
        "mediaType": entry.get("mediaType"),
        "digest": entry.get("digest"),
        "size": entry.get("size"),
    }
    for key in ("artifactType", "urls", "annotations"):
        if entry.get(key):
            out[key] = entry[key]
    platform = entry.get("platform")
    if isinstance(platform, Mapping):
        out["platform"] = platform_label(
            platform.get("os"), platform.get("architecture"), platform.get("variant")
        )
    return out


def _platform_facts(
    source: ImageSource,
    reference: Reference,
    fetched: RawManifest,
    declared: Mapping[str, Any] | None,
) -> dict[str, object]:
    manifest = _json(fetched.raw, f"manifest {reference.name}@{fetched.digest}")
    config_desc = manifest.get("config") or {}
    layers = [_descriptor_facts(layer) for layer in manifest.get("layers") or []]
    layers_size = sum(int(layer.get("size") or 0) for layer in layers)
    config_size = int(config_desc.get("size") or 0)
    config: dict[str, Any] = {}
    if config_desc.get("mediaType") in _IMAGE_CONFIGS and config_desc.get("digest"):
        blob = source.get_blob_bytes(
            reference.repository, str(config_desc["digest"]), max_size=_MAX_CONFIG
        )
        config = _json(blob, f"config {reference.name}@{config_desc['digest']}")
    runtime = config.get("config") or {}
    hint = (declared or {}).get("platform") or {}
    os_name = config.get("os") or hint.get("os")
    architecture = config.get("architecture") or hint.get("architecture")
    variant = config.get("variant") or hint.get("variant")
    return {
        "platform": platform_label(os_name, architecture, variant),
        "digest": fetched.digest,
        "mediaType": fetched.media_type,
        "size": len(fetched.raw),
        "artifactType": manifest.get("artifactType"),
        "annotations": dict(manifest.get("annotations") or {}),
        "config": _descriptor_facts(config_desc) if config_desc else None,
        "layers": layers,
        "layersSize": layers_size,
        "totalSize": layers_size + config_size,
        "os": os_name,
        "architecture": architecture,
        "variant": variant,
        "created": config.get("created"),
        "user": runtime.get("User") or "",
        "env": list(runtime.get("Env") or []),
        "labels": dict(runtime.get("Labels") or {}),
        "exposedPorts": sorted(runtime.get("ExposedPorts") or {}),
        "entrypoint": runtime.get("Entrypoint"),
        "cmd": runtime.get("Cmd"),
        "workingDir": runtime.get("WorkingDir") or "",
        "history": [
            {
                "created": step.get("created"),
                "createdBy": step.get("created_by"),
                "emptyLayer": bool(step.get("empty_layer")),
                **({"comment": step["comment"]} if step.get("comment") else {}),
            }
            for step in config.get("history") or []
            if isinstance(step, Mapping)
        ],
    }


def _signature_facts(
    source: ImageSource, reference: Reference, fetched: RawManifest, how: str
) -> dict[str, object]:
    manifest = _json(fetched.raw, f"signature {reference.name}@{fetched.digest}")
    layers = []
    for layer in manifest.get("layers") or []:
        if not isinstance(layer, Mapping) or layer.get("mediaType") != SIMPLE_SIGNING:
            continue
        payload = source.get_blob_bytes(
            reference.repository, str(layer.get("digest")), max_size=_MAX_PAYLOAD
        )
        annotations = layer.get("annotations") or {}
        layers.append(
            {
                "mediaType": layer.get("mediaType"),
                "digest": layer.get("digest"),
                "payload": base64.b64encode(payload).decode("ascii"),
                "signature": annotations.get(SIGNATURE_ANNOTATION),
            }
        )
    return {"source": how, "digest": fetched.digest, "layers": layers}


def _child_facts(
    source: ImageSource, reference: Reference, entry: Mapping[str, object]
) -> dict[str, object]:
    child = source.get_manifest(reference.with_digest(str(entry["digest"])))
    return _platform_facts(source, reference, child, entry)


def _attached(source: ImageSource, reference: Reference, digest: str) -> list[dict[str, object]]:
    return [
        dict(_descriptor_facts(found.to_dict()), source="referrers")
        for found in source.referrers(reference.repository, digest)
    ]


def gather_facts(source: ImageSource, reference: Reference, *, jobs: int = 4) -> Facts:
    """The facts document of ``reference`` as it is in the registry, redacted.

    After the first manifest, the platforms, the referrers and cosign's tag are
    fetched ``jobs`` at a time (the source must be thread-safe, as
    ``RegistryClient`` is); the document's order does not depend on timing.
    """
    top = source.get_manifest(reference)
    document = _json(top.raw, str(reference))
    by_digest = reference.with_digest(top.digest)
    facts: Facts = {
        "factsVersion": FACTS_VERSION,
        "reference": str(reference),
        "repository": reference.name,
        "digest": top.digest,
        "mediaType": top.media_type,
        "annotations": dict(document.get("annotations") or {}),
        "index": None,
        "platforms": [],
        "referrers": [],
        "signatures": [],
        "attestations": [],
        "vulnerabilityReports": [],
    }
    children: list[Mapping[str, object]] = []
    if mt.is_index(top.media_type):
        entries = [e for e in document.get("manifests") or [] if isinstance(e, Mapping)]
        facts["index"] = {"manifests": [_descriptor_facts(e) for e in entries]}
        for entry in entries:
            annotations = entry.get("annotations") or {}
            if _DOCKER_REFERENCE_TYPE in annotations:
                # buildx attestation manifests (in-toto statements: SBOM, provenance)
                # ride in the index: attached to a platform, not a platform themselves.
                facts["referrers"].append(
                    dict(_descriptor_facts(entry), artifactType=IN_TOTO, source="index")
                )
            elif mt.is_manifest(str(entry.get("mediaType"))):
                children.append(entry)
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="facts") as pool:
        platforms = [pool.submit(_child_facts, source, reference, entry) for entry in children]
        attached = pool.submit(_attached, source, reference, top.digest)
        by_tag = pool.submit(manifest_at_tag, source, by_digest, signature_tag(top.digest))
        att_tag = pool.submit(manifest_at_tag, source, by_digest, attestation_tag(top.digest))
        if mt.is_manifest(top.media_type):
            facts["platforms"].append(_platform_facts(source, reference, top, None))
        facts["platforms"].extend(future.result() for future in platforms)
        facts["referrers"].extend(attached.result())
        signed = by_tag.result()
        attested = att_tag.result()
    if signed is not None:
        facts["signatures"].append(_signature_facts(source, by_digest, signed, "tag"))
    for referrer in facts["referrers"]:
        if referrer.get("artifactType") == COSIGN_ARTIFACT_TYPE:
            fetched = source.get_manifest(by_digest.with_digest(str(referrer["digest"])))
            facts["signatures"].append(_signature_facts(source, by_digest, fetched, "referrers"))
    facts["attestations"], facts["vulnerabilityReports"] = gather_attached(
        source, by_digest, attested, facts["referrers"]
    )
    facts["gathered"] = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return redact_facts(facts)
