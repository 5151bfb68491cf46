"""Readers fail closed (issue #21): a vulnerability report that does not parse as the format
it claims, a report dated in the future, a signed payload with a duplicate key, a DSSE
envelope of another payload type - each fails its rule, through the real rule on images
in a real registry, with a message naming the report and the field; none passes, none
counts as zero findings."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from promoter.policy.imagecheck import CheckRequest, check_image
from promoter.policy.results import CheckReport
from promoter.signing.statement import statement_bytes
from tests.policy.attesting import (
    VULN_PREDICATE,
    attach_report,
    envelope,
    envelope_of_payload,
    provenance,
    push_att_referrer,
    push_att_tag,
    sarif_report,
    stamp,
    trivy_report,
    vuln_statement,
)
from tests.policy.crafting import generate_key, public_pem, push, signature_image
from tests.support.images import Image, make_image
from tests.support.registry import Registry

pytestmark = pytest.mark.registry

COMMIT = "4f2c0c7d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49"
TRIVY = "application/vnd.aquasec.trivy.report+json"
SARIF = "application/sarif+json"
SLSA = "https://slsa.dev/provenance/v1"
OTHER_TYPE = "application/vnd.example.note+json"


def _trivy(**change: Any) -> dict[str, Any]:
    report = trivy_report(["HIGH"], stamp(1))
    report.update(change)
    return report


def _trivy_finding(**change: Any) -> dict[str, Any]:
    report = trivy_report(["HIGH"], stamp(1))
    report["Results"][0]["Vulnerabilities"][0].update(change)
    return report


def _sarif_score(score: Any) -> dict[str, Any]:
    report = sarif_report(["5.0"], stamp(1))
    report["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"] = score
    return report


def _sarif_without_results() -> dict[str, Any]:
    report = sarif_report(["9.8"], stamp(1))
    del report["runs"][0]["results"]
    return report


def _duplicate_subject(statement: dict[str, Any], evil_digest: str) -> bytes:
    """The statement's JSON with a second ``subject`` key before the real one: a reader
    that keeps the last sees this digest, one that keeps the first sees another."""
    text = statement_bytes(statement).decode()
    evil = json.dumps([{"name": "evil", "digest": {"sha256": evil_digest.split(":")[1]}}])
    assert text.startswith("{")
    return ('{"subject":' + evil + "," + text[1:]).encode()


#: name -> (report, artifact type) attached as a referrer
MALFORMED_REFERRERS: dict[str, tuple[dict[str, Any], str]] = {
    "unknown-severity": (_trivy_finding(Severity="SEVERE"), TRIVY),
    "score-11": (_sarif_score("11"), SARIF),
    "score-minus-1": (_sarif_score(-1), SARIF),
    "string-for-number": (_trivy(SchemaVersion="2"), TRIVY),
    "list-for-object": (_trivy(Results=[["not", "an", "object"]]), TRIVY),
    "no-results": (_sarif_without_results(), SARIF),
    "no-severity": (_trivy_finding(Severity=None), TRIVY),
    "cvss-out-of-range": (_trivy_finding(CVSS={"nvd": {"V3Score": 10.5}}), TRIVY),
    "future": (trivy_report(["LOW"], stamp(-1)), TRIVY),
    "sarif-as-trivy": (sarif_report(["9.8"], stamp(1)), TRIVY),
}


@dataclass
class Seeded:
    registry: Registry
    refs: dict[str, str]
    key: Path


@pytest.fixture(scope="module")
def seeded(policy_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    url, host = policy_registry.url, policy_registry.host
    keys = tmp_path_factory.mktemp("keys")
    key = generate_key()
    (keys / "cosign.pub").write_bytes(public_pem(key))
    refs: dict[str, str] = {}

    def put(name: str) -> tuple[Image, str]:
        image = make_image(seed=f"fail-closed-{name}", user="app")
        repo = f"closed/{name}"
        push(image, url, repo, "1")
        refs[name] = f"{host}/{repo}:1"
        return image, repo

    for name, (report, kind) in MALFORMED_REFERRERS.items():
        image, repo = put(name)
        attach_report(report, kind, image, url, repo)
    # a malformed report is not skipped for an older clean one beside it
    image, repo = put("bad-beside-good")
    attach_report(trivy_report([], stamp(3)), TRIVY, image, url, repo)
    attach_report(_trivy_finding(Severity="SEVERE"), TRIVY, image, url, repo)
    # a report a little ahead of this clock (within the skew) is fine
    image, repo = put("slightly-ahead")
    attach_report(trivy_report(["LOW"], stamp(-2 / 1440)), TRIVY, image, url, repo)
    # signed attestations: a vuln predicate without scanner.result, one with a duplicate
    # subject key, one of another payload type; provenance likewise
    image, repo = put("att-no-result")
    bare = vuln_statement(image.digest, trivy_report([], stamp(1)), stamp(1))
    del bare["predicate"]["scanner"]["result"]
    push_att_tag([(envelope(bare, key), VULN_PREDICATE)], image.digest, url, repo)
    image, repo = put("att-vuln-duplicate")
    clean = vuln_statement(image.digest, trivy_report([], stamp(1)), stamp(1))
    payload = _duplicate_subject(clean, make_image(seed="elsewhere").digest)
    push_att_tag([(envelope_of_payload(payload, key), VULN_PREDICATE)], image.digest, url, repo)
    image, repo = put("att-vuln-other-type")
    clean = vuln_statement(image.digest, trivy_report([], stamp(1)), stamp(1))
    data = envelope_of_payload(statement_bytes(clean), key, OTHER_TYPE)
    push_att_tag([(data, VULN_PREDICATE)], image.digest, url, repo)
    image, repo = put("prov-duplicate")
    payload = _duplicate_subject(provenance(image.digest, COMMIT), make_image(seed="x").digest)
    push_att_tag([(envelope_of_payload(payload, key), SLSA)], image.digest, url, repo)
    image, repo = put("prov-other-type")
    data = envelope_of_payload(statement_bytes(provenance(image.digest, COMMIT)), key, OTHER_TYPE)
    push_att_referrer(data, image, url, repo)
    # a cosign signature whose simple-signing payload names "critical" twice
    image, repo = put("sig-duplicate")
    good = json.dumps({"image": {"docker-manifest-digest": image.digest},
                       "type": "cosign container image signature"})  # fmt: skip
    evil = good.replace(image.digest, make_image(seed="y").digest)
    signed = f'{{"critical":{evil},"critical":{good},"optional":null}}'.encode()
    sig = signature_image(key, image.digest, refs["sig-duplicate"], signed_payload=signed)
    push(sig, url, repo, image.digest.replace(":", "-") + ".sig")
    # a clean signed vulnerability attestation with a high finding, for the facts-file test
    image, repo = put("att-vuln-high")
    high = vuln_statement(image.digest, trivy_report(["HIGH"], stamp(1)), stamp(1))
    push_att_tag([(envelope(high, key), VULN_PREDICATE)], image.digest, url, repo)
    yield Seeded(policy_registry, refs, keys / "cosign.pub")


def _check(seeded: Seeded, tmp_path: Path, name: str, rules: str, **kw: Any) -> CheckReport:
    policy = tmp_path / "policy.yml"
    policy.write_text("policies:\n" + rules)
    return check_image(
        CheckRequest(
            reference=seeded.refs[name],
            policy_file=str(policy),
            insecure_registries=(seeded.registry.host,),
            commit=COMMIT,
            **kw,
        )
    )


VULNS = "  - rule: vulnerabilities\n    max: {critical: 5, high: 5, medium: 5, low: 5}\n"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        (
            "unknown-severity",
            "Results[0].Vulnerabilities[0].Severity: unknown severity 'SEVERE' (known: critical,",
        ),
        ("score-11", "security-severity: score 11 is outside 0-10"),
        ("score-minus-1", "security-severity: score -1 is outside 0-10"),
        ("string-for-number", "SchemaVersion: an integer is wanted, not a string ('2')"),
        ("list-for-object", "Results[0]: an object is wanted, not a list"),
        ("no-results", "runs[0].results is missing: the run did not finish"),
        ("no-severity", "Results[0].Vulnerabilities[0].Severity is missing"),
        ("cvss-out-of-range", "Vulnerabilities[0].CVSS.nvd.V3Score: score 10.5 is outside 0-10"),
        ("future", "is dated in the future ("),
        ("sarif-as-trivy", "does not parse as trivy: SchemaVersion is missing"),
        ("bad-beside-good", "unknown severity 'SEVERE'"),
    ],
)
def test_a_malformed_report_fails_the_rule_naming_the_field(
    seeded: Seeded, tmp_path: Path, name: str, says: str
) -> None:
    (result,) = _check(seeded, tmp_path, name, VULNS).results
    assert (result.rule, result.status) == ("vulnerabilities", "fail"), result.message
    assert result.message.startswith("vulnerability report refused: the trivy report sha256:") or (
        result.message.startswith("vulnerability report refused: the sarif report sha256:")
    ), result.message
    assert "(referrers)" in result.message
    assert says in result.message, result.message
    if name != "future":
        assert "it is not counted as 0 findings" in result.message
    assert "0/5" not in result.message


def test_a_future_report_says_the_skew_allowed_and_one_within_it_passes(
    seeded: Seeded, tmp_path: Path
) -> None:
    (result,) = _check(seeded, tmp_path, "future", VULNS).results
    assert "more than the 5 minutes of clock skew allowed ahead of now" in result.message
    (ahead,) = _check(seeded, tmp_path, "slightly-ahead", VULNS).results
    assert ahead.status == "pass", ahead.message
    assert "low 1/5 in the trivy report" in ahead.message


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("att-no-result", "predicate.scanner.result is missing"),
        ("att-vuln-duplicate", "is not strict JSON: duplicate key 'subject'"),
        (
            "att-vuln-other-type",
            f"payloadType is {OTHER_TYPE!r}, not 'application/vnd.in-toto+json'",
        ),
    ],
)
def test_a_signed_vulnerability_attestation_that_cannot_be_read_fails(
    seeded: Seeded, tmp_path: Path, name: str, says: str, signed: bool
) -> None:
    rules = VULNS + (f"    key: {seeded.key}\n" if signed else "")
    (result,) = _check(seeded, tmp_path, name, rules).results
    assert result.status == "fail", result.message
    assert result.message.startswith("vulnerability report refused: the "), result.message
    assert says in result.message, result.message
    if signed:
        assert f"signed by {seeded.key}:" in result.message


PROVENANCE = "  - rule: provenance\n    key: {key}\n    source: 'https://github.com/acme/*'\n"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("prov-duplicate", "the envelope's payload is not strict JSON: duplicate key 'subject'"),
        ("prov-other-type", f"the envelope's payloadType is {OTHER_TYPE!r}, not 'application/vnd"),
    ],
)
def test_provenance_in_a_duplicate_key_or_other_type_envelope_fails(
    seeded: Seeded, tmp_path: Path, name: str, says: str
) -> None:
    (result,) = _check(seeded, tmp_path, name, PROVENANCE.format(key=seeded.key)).results
    assert result.status == "fail", result.message
    assert (
        "no provenance attestation" in result.message and "(unreadable: sha256:" in result.message
    )
    assert says in result.message, result.message


def test_a_signature_payload_naming_critical_twice_fails(seeded: Seeded, tmp_path: Path) -> None:
    (result,) = _check(
        seeded, tmp_path, "sig-duplicate", f"  - rule: signed\n    key: {seeded.key}\n"
    ).results
    assert result.status == "fail", result.message
    assert "signed payload is not strict JSON: duplicate key 'critical'" in result.message


def test_a_facts_file_with_changed_counts_is_judged_by_the_signed_statement(
    seeded: Seeded, tmp_path: Path
) -> None:
    """With keys, the findings are read again out of the verified statement: a facts file
    whose summary says 0 high of a signed report with 1 high still fails."""
    rules = f"  - rule: vulnerabilities\n    max: {{high: 0}}\n    key: {seeded.key}\n"
    facts_out = tmp_path / "facts.json"
    (result,) = _check(seeded, tmp_path, "att-vuln-high", rules, facts_out=str(facts_out)).results
    assert result.status == "fail" and "1 high (max 0)" in result.message, result.message
    facts = json.loads(facts_out.read_text())
    changed = copy.deepcopy(facts)
    (report,) = changed["vulnerabilityReports"]
    assert report["counts"]["high"] == 1
    report["counts"]["high"] = 0
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(changed))
    policy = tmp_path / "policy.yml"
    (offline,) = check_image(
        CheckRequest(facts_file=str(edited), policy_file=str(policy), commit=COMMIT)
    ).results
    assert offline.status == "fail" and "1 high (max 0)" in offline.message, offline.message
    # and a count that is not a count fails without keys rather than raising
    report["counts"]["high"] = "none"
    edited.write_text(json.dumps(changed))
    policy.write_text("policies:\n  - rule: vulnerabilities\n    max: {high: 0}\n")
    (unkeyed,) = check_image(
        CheckRequest(facts_file=str(edited), policy_file=str(policy), commit=COMMIT)
    ).results
    assert unkeyed.status == "fail"
    assert "its count of high findings is not a count: 'none'" in unkeyed.message
