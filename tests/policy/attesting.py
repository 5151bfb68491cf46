"""Crafting attestations and vulnerability reports for the policy tests, and putting them
in a real registry in cosign's tag form (``sha256-<hex>.att``) or as OCI referrers.

Statements and envelopes are made with ``promoter.signing`` (statement.py, dsse.py,
keys.py); the manifests are pushed over plain HTTP (``tests.policy.crafting``), so the
rules read what promoter did not write. ``promoter.signing.attach`` is used by the
tests that check the two agree.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from promoter.signing.dsse import ENVELOPE_MEDIA_TYPE, sign_envelope
from promoter.signing.keys import SigningKey, fingerprint
from promoter.signing.statement import (
    BuildProvenance,
    Dependency,
    provenance_statement,
    statement_bytes,
)
from promoter.structs import replace
from tests.policy.crafting import attach, push
from tests.support.images import OCI_CONFIG, OCI_MANIFEST, Image, digest_of, make_artifact

__all__ = [
    "BUILDER",
    "SOURCE",
    "VULN_PREDICATE",
    "attach_report",
    "envelope",
    "envelope_of_payload",
    "provenance",
    "push_att_referrer",
    "push_att_tag",
    "sarif_report",
    "signing_key",
    "stamp",
    "trivy_report",
    "vuln_statement",
]

SOURCE = "https://github.com/acme/app"
BUILDER = "https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main"
VULN_PREDICATE = "https://cosign.sigstore.dev/attestation/vuln/v1"


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def stamp(days_ago: float) -> str:
    """An RFC 3339 time ``days_ago`` days before now."""
    moment = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def signing_key(private: Any) -> SigningKey:
    """promoter's signing key of a ``cryptography`` private key."""
    return SigningKey(private, fingerprint(private.public_key()))


def provenance(
    digest: str, commit: str, *, source: str = SOURCE, builder: str = BUILDER
) -> dict[str, Any]:
    """An SLSA v1 provenance statement laid out as promoter's build writes it."""
    uri = f"git+{source}@refs/heads/main"
    return provenance_statement(
        BuildProvenance(
            subjects=[("127.0.0.1/app", digest)],
            parameters={"source": uri, "image": "app"},
            dependencies=[Dependency(uri, {"gitCommit": commit}, name="source")],
            builder_id=builder,
        )
    )


def envelope(statement: dict[str, Any], private: Any, *, tamper: bool = False) -> bytes:
    """The DSSE envelope of ``statement`` signed with ``private``; ``tamper`` changes the
    payload after signing (the signature stays)."""
    signed = sign_envelope(statement_bytes(statement), signing_key(private))
    if tamper:
        changed = dict(statement, subject=[{"name": "evil", "digest": {"sha256": "0" * 64}}])
        signed = replace(signed, payload=statement_bytes(changed))
    return signed.to_bytes()


def envelope_of_payload(
    payload: bytes, private: Any, payload_type: str = "application/vnd.in-toto+json"
) -> bytes:
    """The DSSE envelope of raw ``payload`` bytes (hand-written JSON, another payload
    type), validly signed with ``private``."""
    return sign_envelope(payload, signing_key(private), payload_type).to_bytes()


def push_att_tag(envelopes: list[tuple[bytes, str]], digest: str, url: str, repo: str) -> None:
    """cosign's attestation manifest at ``sha256-<hex>.att``: one DSSE layer per
    ``(envelope, predicateType)``, an image config listing them, as cosign writes it."""
    layers = [
        {
            "mediaType": ENVELOPE_MEDIA_TYPE,
            "digest": digest_of(data),
            "size": len(data),
            "annotations": {"predicateType": kind, "dev.cosignproject.cosign/signature": ""},
        }
        for data, kind in envelopes
    ]
    config = _dumps(
        {
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        }
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
        "layers": layers,
    }
    blobs = {digest_of(config): config, **{digest_of(data): data for data, _ in envelopes}}
    image = Image(OCI_MANIFEST, _dumps(manifest), blobs)
    push(image, url, repo, digest.replace(":", "-") + ".att")


def push_att_referrer(data: bytes, subject: Image, url: str, repo: str) -> None:
    """A DSSE envelope as an OCI 1.1 referrer of ``subject`` (artifact type: the envelope's)."""
    artifact = make_artifact(
        subject,
        artifact_type=ENVELOPE_MEDIA_TYPE,
        payload=data,
        payload_media_type=ENVELOPE_MEDIA_TYPE,
    )
    attach(artifact, subject.digest, url, repo)


def attach_report(
    report: dict[str, Any], artifact_type: str, subject: Image, url: str, repo: str
) -> None:
    """A SARIF or Trivy JSON report as an OCI 1.1 referrer of ``subject``."""
    artifact = make_artifact(subject, artifact_type=artifact_type, payload=_dumps(report))
    attach(artifact, subject.digest, url, repo)


def trivy_report(severities: list[str], created: str) -> dict[str, Any]:
    """A Trivy JSON report (SchemaVersion 2) with one finding per severity given."""
    return {
        "SchemaVersion": 2,
        "CreatedAt": created,
        "ArtifactName": "app",
        "ArtifactType": "container_image",
        "Results": [
            {
                "Target": "app (debian 12.5)",
                "Class": "os-pkgs",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": f"CVE-2024-{1000 + i}",
                        "PkgName": f"pkg{i}",
                        "Severity": severity,
                    }
                    for i, severity in enumerate(severities)
                ],
            },
            {"Target": "app/go.mod", "Class": "lang-pkgs"},
        ],
    }


def sarif_report(scores: list[str], created: str) -> dict[str, Any]:
    """A SARIF 2.1.0 report as Trivy writes one: a rule per finding with its
    ``security-severity`` score and severity tag, one result each."""
    rules = [
        {
            "id": f"CVE-2024-{2000 + i}",
            "properties": {"security-severity": score, "tags": ["vulnerability", "security"]},
        }
        for i, score in enumerate(scores)
    ]
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {"driver": {"name": "Trivy", "version": "0.50.0", "rules": rules}},
                "results": [
                    {
                        "ruleId": rule["id"],
                        "ruleIndex": i,
                        "level": "error",
                        "message": {"text": "x"},
                    }
                    for i, rule in enumerate(rules)
                ],
                "invocations": [{"executionSuccessful": True, "endTimeUtc": created}],
            }
        ],
    }


def vuln_statement(digest: str, result: dict[str, Any], finished: str) -> dict[str, Any]:
    """A cosign vulnerability attestation's statement (as ``cosign attest --type vuln``)."""
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": VULN_PREDICATE,
        "subject": [{"name": "127.0.0.1/app", "digest": {"sha256": digest.split(":", 1)[1]}}],
        "predicate": {
            "invocation": {"parameters": None, "uri": "", "event_id": "", "builder.id": ""},
            "scanner": {
                "uri": "pkg:github/aquasecurity/trivy@v0.50.0",
                "version": "0.50.0",
                "db": {"uri": "", "version": ""},
                "result": result,
            },
            "metadata": {"scanStartedOn": finished, "scanFinishedOn": finished},
        },
    }
