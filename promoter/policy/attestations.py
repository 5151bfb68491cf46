"""Gathering attestations and vulnerability reports attached to an image, for the facts.

Two places hold a DSSE-signed in-toto attestation about a digest:

- cosign's tag form: the manifest at ``sha256-<hex>.att``, whose layers are DSSE
  envelopes (``application/vnd.dsse.envelope.v1+json``);
- an OCI referrer whose artifact type is a DSSE envelope or an in-toto statement
  (``application/vnd.dsse.envelope.v1+json``, ``application/vnd.in-toto+json``, ...),
  its DSSE layers the envelopes.

Each envelope goes into the facts as it is stored (``attestations``), unverified:
the rules verify. Envelopes, statements and reports are read with the one strict JSON
reader (:func:`promoter.config.inputfile.loads_strict`: a duplicate key is refused),
and a statement only out of an envelope of the in-toto payload type. Vulnerability reports are summarised instead (they can be large,
and the facts document is bounded): a cosign vulnerability attestation
(``https://cosign.sigstore.dev/attestation/vuln/v1``), or a SARIF or Trivy JSON
report attached as a referrer, becomes one ``vulnerabilityReports`` entry with its
format, time, scanner and the count of findings per severity.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from promoter.config.inputfile import loads_strict
from promoter.errors import RegistryError
from promoter.oci.reference import Reference
from promoter.policy.vulnreports import VULN_PREDICATE, summarize_report
from promoter.signing.dsse import ENVELOPE_MEDIA_TYPE, Envelope, EnvelopeError, parse_envelope

__all__ = [
    "ATTESTATION_ARTIFACT_TYPES",
    "REPORT_ARTIFACT_TYPES",
    "gather_attached",
    "manifest_at_tag",
    "read_statement",
    "stored_envelope",
    "strict_object",
]

#: Referrer artifact types that carry DSSE attestations.
ATTESTATION_ARTIFACT_TYPES = frozenset(
    {
        ENVELOPE_MEDIA_TYPE,
        "application/vnd.in-toto+json",
        "application/vnd.dev.cosign.attestation.v1+json",
    }
)
#: Referrer artifact types of vulnerability reports (SARIF, Trivy JSON, cosign's vuln).
REPORT_ARTIFACT_TYPES = frozenset(
    {
        "application/sarif+json",
        "application/vnd.sarif+json",
        "application/vnd.aquasec.trivy.report+json",
        "application/vnd.trivy.report+json",
        "application/vnd.cosign.vuln+json",
    }
)
#: The format a report attached with an artifact type claims to be; it is read as that.
_CLAIMED = {
    "application/sarif+json": "sarif",
    "application/vnd.sarif+json": "sarif",
    "application/vnd.aquasec.trivy.report+json": "trivy",
    "application/vnd.trivy.report+json": "trivy",
    "application/vnd.cosign.vuln+json": "cosign-vuln",
}
#: At most this many envelopes and reports are read per image; each at most this large.
_MAX_ITEMS = 32
_MAX_ENVELOPE = 1024 * 1024
_MAX_REPORT = 16 * 1024 * 1024
_CREATED_ANNOTATIONS = ("org.opencontainers.image.created", "org.opencontainers.artifact.created")


class _Source(Protocol):
    def get_manifest(self, reference: Reference, *, accept: str = ...) -> Any: ...

    def get_blob_bytes(
        self, repository: str, digest: str, *, max_size: int | None = None
    ) -> bytes: ...


def manifest_at_tag(source: _Source, reference: Reference, tag: str) -> Any | None:
    """The manifest at ``tag`` of ``reference``'s repository (cosign's ``.sig`` or
    ``.att``), or None (one GET either way)."""
    try:
        return source.get_manifest(reference.with_tag(tag))
    except RegistryError as error:
        if error.status == 404:
            return None
        raise


def _manifest(raw: bytes) -> dict[str, object]:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


def strict_object(raw: bytes | str, what: str) -> tuple[dict[str, object], str | None]:
    """``(document, None)``, or ``({}, why not)`` when ``raw`` is not one strict JSON object
    (:func:`promoter.config.inputfile.loads_strict`: no duplicate keys)."""
    try:
        document = loads_strict(raw)
    except (ValueError, UnicodeDecodeError) as error:
        return {}, f"{what} is not strict JSON: {str(error)[:200]}"
    except RecursionError:
        return {}, f"{what} is nested too deeply"
    if not isinstance(document, dict):
        return {}, f"{what} is not a JSON object"
    return document, None


def stored_envelope(stored: object) -> Envelope | EnvelopeError:
    """The envelope a facts entry keeps as stored (its JSON object), or why it is none."""
    if not isinstance(stored, Mapping):
        return EnvelopeError("the envelope is not a JSON object", "document")
    try:
        return parse_envelope(stored)
    except EnvelopeError as error:
        return error


def read_statement(envelope: Envelope | EnvelopeError) -> tuple[dict[str, object], str | None]:
    """``(the in-toto statement an envelope carries, unverified, None)``, or ``({}, why
    not)``: not an envelope, another payload type, not strict JSON, not an object."""
    if isinstance(envelope, EnvelopeError):
        return {}, str(envelope)
    problem = envelope.type_problem()
    if problem is not None:
        return {}, problem
    return strict_object(envelope.payload, "the envelope's payload")


class _Collector:
    """Reads the blobs of attestation and report manifests into facts entries, bounded."""

    def __init__(self, source: _Source, by_digest: Reference) -> None:
        self.source = source
        self.by_digest = by_digest
        self.attestations: list[dict[str, object]] = []
        self.reports: list[dict[str, object]] = []

    def _read(self, layer: Mapping[str, object], limit: int) -> bytes | str:
        size = layer.get("size")
        if not isinstance(size, int) or size > limit:
            return f"layer of {size} bytes: larger than {limit} bytes, not read"
        return self.source.get_blob_bytes(
            self.by_digest.repository, str(layer.get("digest")), max_size=limit
        )

    def envelopes(self, manifest: Mapping[str, Any], where: dict[str, Any]) -> None:
        layers = [
            layer
            for layer in manifest.get("layers") or []
            if isinstance(layer, Mapping) and layer.get("mediaType") == ENVELOPE_MEDIA_TYPE
        ]
        room = _MAX_ITEMS - len(self.attestations) - len(self.reports)
        # Attestations are appended as they are made: past the bound, the newest are read.
        for layer in layers[-room:] if room > 0 else []:
            entry = dict(where, digest=layer.get("digest"))
            data = self._read(layer, _MAX_REPORT)
            if isinstance(data, str):
                self.attestations.append(dict(entry, error=data))
                continue
            envelope, problem = strict_object(data, "the envelope")
            if problem is None:
                statement, problem = read_statement(stored_envelope(envelope))
            else:
                statement = {}
            predicate_type = statement.get("predicateType")
            entry["predicateType"] = predicate_type
            if problem is not None:
                entry["error"] = problem
                if envelope and len(data) <= _MAX_ENVELOPE:  # the rules judge it again
                    entry["envelope"] = envelope
            elif predicate_type == VULN_PREDICATE:
                report = summarize_report(statement, self._created(manifest, layer), "cosign-vuln")
                if len(data) <= _MAX_ENVELOPE:  # kept for a rule that wants it signed
                    report["envelope"] = envelope
                self.reports.append(dict(entry, **report, attested=True))
                entry["summarized"] = "vulnerabilityReports"
            elif len(data) > _MAX_ENVELOPE:
                entry["error"] = f"envelope of {len(data)} bytes: larger than {_MAX_ENVELOPE}"
            else:
                entry["envelope"] = envelope
            self.attestations.append(entry)

    def report(self, manifest: Mapping[str, Any], where: dict[str, Any]) -> None:
        layers = [layer for layer in manifest.get("layers") or [] if isinstance(layer, Mapping)]
        if not layers or len(self.reports) >= _MAX_ITEMS:
            return
        if layers[0].get("mediaType") == ENVELOPE_MEDIA_TYPE:
            self.envelopes(manifest, where)
            return
        entry = dict(where, digest=layers[0].get("digest"))
        data = self._read(layers[0], _MAX_REPORT)
        if isinstance(data, str):
            self.reports.append(dict(entry, error=data))
            return
        document, problem = strict_object(data, "the report")
        claimed = _CLAIMED.get(str(where.get("artifactType")))
        if problem is not None:
            self.reports.append(dict(entry, format=claimed or "unknown", error=problem))
            return
        summary = summarize_report(document, self._created(manifest), claimed)
        self.reports.append(dict(entry, **summary))

    def _created(self, manifest: Mapping[str, Any], layer: Mapping[str, Any] | None = None) -> Any:
        """The time the registry side says a report was made: an annotation, else None."""
        for marks in ((layer or {}).get("annotations"), manifest.get("annotations")):
            if isinstance(marks, Mapping):
                for key in _CREATED_ANNOTATIONS:
                    if isinstance(marks.get(key), str):
                        return marks[key]
        return None


def gather_attached(
    source: _Source,
    by_digest: Reference,
    tagged: Any | None,
    referrers: list[dict[str, object]],
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """``(attestations, vulnerabilityReports)`` of the image: from the ``.att`` manifest
    ``tagged`` (or None) and from the referrers listed in the facts."""
    collect = _Collector(source, by_digest)
    if tagged is not None:
        collect.envelopes(_manifest(tagged.raw), {"source": "tag", "manifest": tagged.digest})
    for referrer in referrers:
        kind = referrer.get("artifactType")
        if referrer.get("source") != "referrers" or not isinstance(kind, str):
            continue
        is_attestation = kind in ATTESTATION_ARTIFACT_TYPES
        if not is_attestation and kind not in REPORT_ARTIFACT_TYPES:
            continue
        fetched = source.get_manifest(by_digest.with_digest(str(referrer["digest"])))
        where = {"source": "referrers", "manifest": fetched.digest, "artifactType": kind}
        manifest = _manifest(fetched.raw)
        if is_attestation:
            collect.envelopes(manifest, where)
        else:
            collect.report(manifest, where)
    return collect.attestations, collect.reports
