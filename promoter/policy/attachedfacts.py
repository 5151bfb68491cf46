"""The attached sections of the facts document, typed: signatures, attestations, reports.

``promoter.policy.imagefacts`` reads these sections with the readers here, once,
before the rules run; the rules read :class:`AttestationFacts`,
:class:`ReportFacts` and ``promoter.signing.cosign.SignatureFacts``, never the
document's JSON. The document's format (``promoter.policy.facts_doc``) does not
change.

The readers stay strict where a rule must fail closed: an envelope is read by the
one DSSE reader and its statement by the one strict JSON reader (a duplicate key, a
payload of another type are kept as the entry's ``problem``), and a report summary
whose error is set, whose counts are not counts or whose time is not a timestamp
keeps why in its ``problem``, never reading as zero findings. Labels that are only
shown (a source, a digest) read as their text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone

from promoter.jsontypes import JSONValue
from promoter.policy.attestations import read_statement, stored_envelope
from promoter.policy.vulnreports import SEVERITIES
from promoter.signing.cosign import SignatureFacts, SignatureLayer
from promoter.signing.dsse import Envelope, EnvelopeError
from promoter.structs import struct

__all__ = [
    "AttestationFacts",
    "ReportFacts",
    "ReportSummary",
    "parse_timestamp",
    "read_attestation",
    "read_report",
    "read_signature",
    "read_summary",
]


@struct(frozen=True)
class AttestationFacts:
    """One ``attestations`` entry: where its envelope was found, the envelope as stored
    (None when the entry keeps none: summarised into a report, or not read), and the
    in-toto statement it carries, unverified ({} when unreadable), or why it cannot be
    read (``problem``: another payload type, not strict JSON, too large to read)."""

    source: str | None
    digest: str | None
    manifest: str | None
    envelope: Envelope | EnvelopeError | None
    statement: Mapping[str, object]
    problem: str | None

    @property
    def predicate_type(self) -> object:
        """The unverified statement's ``predicateType`` (None when it has none)."""
        return self.statement.get("predicateType")


@struct(frozen=True)
class ReportSummary:
    """A vulnerability report's summary (``promoter.policy.vulnreports``): its format,
    scanner, time (as written, and read), findings per severity, and why it cannot be
    judged (``problem``), or None."""

    format: str | None
    scanner: str | None
    created: str | None
    stamp: datetime | None
    counts: Mapping[str, int]
    problem: str | None


@struct(frozen=True)
class ReportFacts:
    """One ``vulnerabilityReports`` entry: where it was found, the envelope of a cosign
    vulnerability attestation as stored (None for a SARIF or Trivy referrer), the summary."""

    source: str | None
    digest: str | None
    manifest: str | None
    envelope: Envelope | EnvelopeError | None
    summary: ReportSummary


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 time (Go's nanoseconds allowed; no zone reads as UTC), or None."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Go writes nanoseconds; Python's fromisoformat takes at most microseconds.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _shown(value: object) -> str | None:
    """A label only shown in messages: its text, None when absent."""
    return None if value is None else str(value)


def _optional(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _stored(entry: Mapping[str, JSONValue]) -> Envelope | EnvelopeError | None:
    """The envelope an entry keeps as its JSON object, parsed; None when it keeps none."""
    stored = entry.get("envelope")
    return stored_envelope(stored) if isinstance(stored, Mapping) else None


def read_signature(entry: Mapping[str, JSONValue]) -> SignatureFacts:
    """A ``signatures`` entry; layers that are not objects are left out."""
    layers = entry.get("layers")
    return SignatureFacts(
        str(entry.get("source") or "unknown"),
        tuple(
            SignatureLayer(
                _optional(layer.get("mediaType")),
                _optional(layer.get("digest")),
                str(layer.get("payload") or ""),
                str(layer.get("signature") or ""),
            )
            for layer in (layers if isinstance(layers, list) else [])
            if isinstance(layer, dict)
        ),
    )


def read_attestation(entry: Mapping[str, JSONValue]) -> AttestationFacts:
    """An ``attestations`` entry, its statement read (unverified) when it keeps an envelope."""
    envelope = _stored(entry)
    if envelope is not None:
        statement, problem = read_statement(envelope)
    else:  # summarised into vulnerabilityReports, or not read (too large)
        error = entry.get("error")
        statement, problem = {}, (str(error) if error else None)
    return AttestationFacts(
        _shown(entry.get("source")),
        _shown(entry.get("digest")),
        _shown(entry.get("manifest")),
        envelope,
        statement,
        problem,
    )


def _counts(counts: object) -> tuple[dict[str, int], str | None]:
    """The findings per severity, or ``({}, why they are not counts)``."""
    if not isinstance(counts, Mapping) or not counts:
        return {}, "its summary holds no counts per severity"
    for name, value in counts.items():
        if name not in SEVERITIES:
            return {}, f"its counts name an unknown severity {str(name)[:40]!r}"
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return {}, f"its count of {name} findings is not a count: {str(value)[:40]!r}"
    return dict(counts), None


def read_summary(summary: Mapping[str, object]) -> ReportSummary:
    """A report summary (a ``vulnerabilityReports`` entry, or what
    ``promoter.policy.vulnreports.summarize_report`` returns): an error, counts that are
    not counts and a time that is not a timestamp are its ``problem``, in that order."""
    counts, problem = _counts(summary.get("counts"))
    created = summary.get("created")
    stamp = parse_timestamp(created) if isinstance(created, str) else None
    if summary.get("error"):
        problem = f"{summary['error']}; it is not counted as 0 findings"
    elif problem is None and created is not None and stamp is None:
        problem = f"its time {str(created)[:40]!r} is not an RFC 3339 timestamp"
    return ReportSummary(
        _optional(summary.get("format")),
        _shown(summary.get("scanner")),
        _optional(created),
        stamp,
        counts,
        problem,
    )


def read_report(entry: Mapping[str, JSONValue]) -> ReportFacts:
    """A ``vulnerabilityReports`` entry."""
    return ReportFacts(
        _shown(entry.get("source")),
        _shown(entry.get("digest")),
        _shown(entry.get("manifest")),
        _stored(entry),
        read_summary(entry),
    )
