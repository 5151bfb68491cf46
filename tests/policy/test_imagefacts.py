"""The facts document read once into typed facts before the rules run
(``promoter.policy.imagefacts``): what the rules read, and a hand-edited document whose
values have the wrong JSON types reads as absent instead of crashing a rule."""

from __future__ import annotations

from promoter.policy.imagefacts import HistoryStep, LayerFacts, read_image_facts
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
