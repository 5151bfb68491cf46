"""The facts document as the rules read it: typed, parsed once before the rules run.

``read_image_facts`` turns the JSON document (gathered, or loaded with ``--facts``;
its format is ``promoter.policy.facts_doc``'s and does not change) into
:class:`ImageFacts`. A value of the wrong JSON type reads as absent (an empty
string, mapping or list), so a hand-edited document cannot make a rule crash.
The signature, attestation and vulnerability report sections are read by
``promoter.policy.attachedfacts`` (strictly, where a rule must fail closed). The
document itself stays in ``ImageFacts.document`` for the ``schema`` rule, which
applies a user's JSON Schema to it.
"""

from __future__ import annotations

from collections.abc import Mapping

from promoter.jsontypes import JSONValue
from promoter.policy.attachedfacts import (
    AttestationFacts,
    ReportFacts,
    read_attestation,
    read_report,
    read_signature,
)
from promoter.signing.cosign import SignatureFacts
from promoter.structs import struct

__all__ = ["HistoryStep", "ImageFacts", "LayerFacts", "PlatformFacts", "read_image_facts"]


@struct(frozen=True)
class LayerFacts:
    """One layer: its media type and whether it names URLs (a foreign layer)."""

    media_type: str
    has_urls: bool


@struct(frozen=True)
class HistoryStep:
    """One entry of a config's history: what made it and its comment, when strings."""

    created_by: str | None
    comment: str | None


@struct(frozen=True)
class PlatformFacts:
    """One platform's manifest and config, as the image rules read them."""

    platform: str | None
    media_type: str
    user: str
    total_size: int
    created: str | None
    labels: Mapping[str, JSONValue]
    annotations: Mapping[str, JSONValue]
    env: tuple[str, ...]
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    layers: tuple[LayerFacts, ...]
    history: tuple[HistoryStep, ...]


@struct(frozen=True)
class ImageFacts:
    """The image: its top-level facts, its platforms, what is attached to it (signatures,
    attestations, vulnerability reports), and the document they were read from."""

    reference: str
    digest: str
    media_type: str
    annotations: Mapping[str, JSONValue]
    platforms: tuple[PlatformFacts, ...]
    referrer_types: tuple[str, ...]
    signatures: tuple[SignatureFacts, ...]
    attestations: tuple[AttestationFacts, ...]
    reports: tuple[ReportFacts, ...]
    document: Mapping[str, JSONValue]


def _text(value: JSONValue | None) -> str:
    return str(value or "")


def _optional(value: JSONValue | None) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: JSONValue | None) -> Mapping[str, JSONValue]:
    return value if isinstance(value, dict) else {}


def _strings(value: JSONValue | None) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _objects(value: JSONValue | None) -> list[JSONValue]:
    return value if isinstance(value, list) else []


def _size(value: JSONValue | None) -> int:
    if isinstance(value, (int, float)):
        return int(value)
    return int(value) if isinstance(value, str) and value.strip().isdigit() else 0


def _step(entry: JSONValue) -> HistoryStep:
    step = _mapping(entry)
    return HistoryStep(_optional(step.get("createdBy")), _optional(step.get("comment")))


def _layer(entry: Mapping[str, JSONValue]) -> LayerFacts:
    return LayerFacts(_text(entry.get("mediaType")), bool(entry.get("urls")))


def _platform(entry: Mapping[str, JSONValue]) -> PlatformFacts:
    label = entry.get("platform")
    return PlatformFacts(
        platform=None if label is None else str(label),
        media_type=_text(entry.get("mediaType")),
        user=_text(entry.get("user")),
        total_size=_size(entry.get("totalSize")),
        created=_optional(entry.get("created")),
        labels=_mapping(entry.get("labels")),
        annotations=_mapping(entry.get("annotations")),
        env=_strings(entry.get("env")),
        entrypoint=_strings(entry.get("entrypoint")),
        cmd=_strings(entry.get("cmd")),
        layers=tuple(_layer(x) for x in _objects(entry.get("layers")) if isinstance(x, dict)),
        history=tuple(_step(x) for x in _objects(entry.get("history"))),
    )


def read_image_facts(document: Mapping[str, JSONValue]) -> ImageFacts:
    """The typed facts of a facts document (``KeyError`` when it has no ``digest``)."""
    return ImageFacts(
        reference=_text(document.get("reference")),
        digest=str(document["digest"]),
        media_type=_text(document.get("mediaType")),
        annotations=_mapping(document.get("annotations")),
        platforms=tuple(
            _platform(p) for p in _objects(document.get("platforms")) if isinstance(p, dict)
        ),
        referrer_types=tuple(
            _text(r.get("artifactType"))
            for r in _objects(document.get("referrers"))
            if isinstance(r, dict)
        ),
        signatures=tuple(
            read_signature(s) for s in _objects(document.get("signatures")) if isinstance(s, dict)
        ),
        attestations=tuple(
            read_attestation(a)
            for a in _objects(document.get("attestations"))
            if isinstance(a, dict)
        ),
        reports=tuple(
            read_report(r)
            for r in _objects(document.get("vulnerabilityReports"))
            if isinstance(r, dict)
        ),
        document=document,
    )
