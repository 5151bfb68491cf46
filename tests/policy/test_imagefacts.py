"""The facts document read once into typed facts before the rules run
(``promoter.policy.imagefacts``, ``promoter.policy.attachedfacts``): what the rules read,
a hand-edited document whose values have the wrong JSON types reads as absent instead of
crashing a rule, an attached entry that cannot be judged keeps why, and a facts file reads
back to the same facts."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from promoter.policy.facts_doc import load_facts, write_facts
from promoter.policy.imagefacts import HistoryStep, LayerFacts, read_image_facts
from promoter.signing.cosign import SIMPLE_SIGNING, SignatureLayer
from promoter.signing.dsse import Envelope, EnvelopeError
from tests.policy.attesting import envelope, envelope_of_payload, provenance
from tests.policy.crafting import generate_key
from tests.policy.factsdocs import DIGEST, facts_doc, platform_entry
from tests.policy.test_rules_logic import check


def test_the_typed_facts_hold_what_the_document_says() -> None:
    document = facts_doc(
        platform_entry(labels={"a": "1"}, entrypoint=["/bin/sh"]),
        referrers=[{"artifactType": "application/spdx+json"}, "not an object"],
    )
    image = read_image_facts(document)
    assert (image.reference, image.digest) == ("127.0.0.1:5000/app:1.0", DIGEST)
    (platform,) = image.platforms
    assert platform.platform == "linux/amd64" and platform.user == "app"
    assert platform.total_size == 1600 and platform.created == "2026-11-20T00:00:00Z"
    assert platform.labels == {"a": "1"} and platform.env == ("PATH=/usr/bin",)
    assert (platform.entrypoint, platform.cmd) == (("/bin/sh",), ("/app",))
    assert platform.layers == (LayerFacts("application/vnd.oci.image.layer.v1.tar+gzip", False),)
    assert platform.history == (HistoryStep("COPY app /app", None),)
    assert image.referrer_types == ("application/spdx+json",)
    assert image.document is document


def test_values_of_the_wrong_type_read_as_absent() -> None:
    odd = platform_entry(
        user=7,
        labels=["a"],
        env="PATH=/bin",
        cmd=[1, "/app"],
        totalSize="big",
        created=5,
        layers=["x", {"mediaType": 3, "urls": ["http://example"]}],
        history=["RUN x", {"createdBy": ["no"], "comment": "c"}],
    )
    (platform,) = read_image_facts(facts_doc(odd, annotations=None)).platforms
    assert platform.user == "7" and platform.labels == {} and platform.env == ()
    assert platform.cmd == ("/app",) and platform.total_size == 0 and platform.created is None
    assert platform.layers == (LayerFacts("3", True),)
    assert platform.history == (HistoryStep(None, None), HistoryStep(None, "c"))
    report = check(
        "policies:\n  - rule: required-labels\n    labels: [a]\n  - rule: no-secrets\n",
        facts_doc(odd),
    )
    assert [r.status for r in report.results] == ["fail", "pass"]
    assert report.results[0].message == "label a is missing"


def _attached_doc() -> dict[str, Any]:
    """A document with a signature, attestations and reports, as the gatherer writes them."""
    key = generate_key()
    signed = json.loads(envelope(provenance(DIGEST, "c0ffee" * 7), key))
    layer = {"mediaType": SIMPLE_SIGNING, "digest": "sha256:" + "22" * 32, "payload": "e30="}
    return facts_doc(
        signatures=[{"source": "tag", "digest": "sha256:" + "33" * 32, "layers": [layer, 7]}],
        attestations=[
            {"source": "tag", "manifest": "sha256:m", "digest": "sha256:a", "envelope": signed},
            {"source": "referrers", "digest": "sha256:b", "error": "layer of 2 bytes: too large"},
            {"source": "tag", "digest": "sha256:c", "summarized": "vulnerabilityReports"},
        ],
        vulnerabilityReports=[
            {
                "source": "referrers",
                "digest": "sha256:r",
                "format": "trivy",
                "created": "2026-11-27T00:00:00Z",
                "scanner": "Trivy",
                "counts": {"critical": 0, "high": 2},
            }
        ],
    )


def test_the_attached_sections_are_typed_once() -> None:
    image = read_image_facts(_attached_doc())
    (signature,) = image.signatures
    assert signature.source == "tag"
    assert signature.layers == (SignatureLayer(SIMPLE_SIGNING, "sha256:" + "22" * 32, "e30=", ""),)
    signed, too_large, summarised = image.attestations
    assert isinstance(signed.envelope, Envelope) and signed.problem is None
    assert signed.predicate_type == "https://slsa.dev/provenance/v1"
    assert (signed.source, signed.digest, signed.manifest) == ("tag", "sha256:a", "sha256:m")
    assert too_large.envelope is None and too_large.problem == "layer of 2 bytes: too large"
    assert summarised.envelope is None and summarised.problem is None
    (report,) = image.reports
    assert report.envelope is None and report.summary.problem is None
    assert report.summary.counts == {"critical": 0, "high": 2}
    assert report.summary.stamp == datetime(2026, 11, 27, tzinfo=timezone.utc)


def test_a_facts_file_reads_back_to_the_same_facts(tmp_path: Path) -> None:
    """--facts-out then --facts: the same JSON document, the same typed facts."""
    document = _attached_doc()
    write_facts(tmp_path / "facts.json", document)
    loaded = load_facts(tmp_path / "facts.json")
    assert loaded == document
    assert json.loads((tmp_path / "facts.json").read_text()) == document
    assert read_image_facts(loaded) == read_image_facts(document)


def test_attached_entries_that_cannot_be_judged_keep_why() -> None:
    key = generate_key()
    twice = envelope_of_payload(b'{"predicateType":"a","predicateType":"b"}', key)
    other = envelope_of_payload(b"{}", key, "text/plain")
    image = read_image_facts(
        facts_doc(
            attestations=[
                {"source": "tag", "digest": 5, "envelope": json.loads(twice)},
                {"source": "tag", "envelope": json.loads(other)},
                {"source": "tag", "envelope": {"payloadType": 3}},
            ],
            vulnerabilityReports=[
                {"format": "sarif", "error": "does not parse", "counts": {"high": 1}},
                {"format": 4, "counts": {"high": -1}, "created": "2026-11-27T00:00:00Z"},
                {"counts": {"high": 0}, "created": 20261127},
                {"counts": {"high": 0}, "created": "yesterday", "envelope": "not an object"},
            ],
        )
    )
    twice_read, other_read, broken = image.attestations
    assert twice_read.digest == "5" and twice_read.statement == {}
    assert "not strict JSON" in str(twice_read.problem)
    assert "payloadType is 'text/plain'" in str(other_read.problem)
    assert isinstance(broken.envelope, EnvelopeError) and broken.problem is not None
    problems = [r.summary.problem for r in image.reports]
    assert problems == [
        "does not parse; it is not counted as 0 findings",
        "its count of high findings is not a count: '-1'",
        "its time '20261127' is not an RFC 3339 timestamp",
        "its time 'yesterday' is not an RFC 3339 timestamp",
    ]
    assert image.reports[1].summary.format is None and image.reports[3].envelope is None
