"""The provenance and vulnerabilities rules (and signed with several keys) on images in a
real registry: attestations in cosign's ``.att`` tag form and as OCI referrers, SARIF
and Trivy reports as referrers, checked through the library and the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promoter.policy.imagecheck import CheckRequest, check_image
from promoter.policy.results import CheckReport
from tests.policy.attesting import (
    VULN_PREDICATE,
    attach_report,
    envelope,
    provenance,
    push_att_referrer,
    push_att_tag,
    sarif_report,
    stamp,
    trivy_report,
    vuln_statement,
)
from tests.policy.crafting import generate_key, public_pem, push, signature_image
from tests.support.cli import run_cli
from tests.support.images import Image, make_image
from tests.support.registry import Registry

pytestmark = pytest.mark.registry

COMMIT = "4f2c0c7d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49"
OTHER_COMMIT = "0123456789abcdef0123456789abcdef01234567"
SLSA = "https://slsa.dev/provenance/v1"
TRIVY = "application/vnd.aquasec.trivy.report+json"
SARIF = "application/sarif+json"


@dataclass
class Seeded:
    registry: Registry
    refs: dict[str, str]
    key: Path
    other_key: Path

    def ref(self, name: str) -> str:
        return self.refs[name]


@pytest.fixture(scope="module")
def seeded(policy_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    url, host = policy_registry.url, policy_registry.host
    keys = tmp_path_factory.mktemp("keys")
    key, other = generate_key(), generate_key()
    (keys / "cosign.pub").write_bytes(public_pem(key))
    (keys / "other.pub").write_bytes(public_pem(other))
    refs: dict[str, str] = {}

    def put(name: str) -> tuple[Image, str]:
        image = make_image(seed=f"attested-{name}", user="app")
        repo = f"attested/{name}"
        push(image, url, repo, "1")
        refs[name] = f"{host}/{repo}:1"
        return image, repo

    def att_tag(name: str, statement: dict, signer: object = key, **kw: bool) -> None:
        image, repo = put(name)
        data = envelope(statement, signer, **kw)
        push_att_tag([(data, str(statement["predicateType"]))], image.digest, url, repo)

    def digest_of(name: str) -> str:
        return make_image(seed=f"attested-{name}", user="app").digest

    # provenance, tag form and referrer form
    att_tag("prov-tag", provenance(digest_of("prov-tag"), COMMIT))
    image, repo = put("prov-referrer")
    push_att_referrer(envelope(provenance(image.digest, COMMIT), key), image, url, repo)
    put("prov-none")
    att_tag("prov-other-digest", provenance(digest_of("prov-none"), COMMIT))
    att_tag("prov-other-commit", provenance(digest_of("prov-other-commit"), OTHER_COMMIT))
    att_tag("prov-untrusted", provenance(digest_of("prov-untrusted"), COMMIT), other)
    att_tag(
        "prov-builder",
        provenance(digest_of("prov-builder"), COMMIT, builder="https://ci.evil.example/job/1"),
    )
    att_tag(
        "prov-source",
        provenance(digest_of("prov-source"), COMMIT, source="https://github.com/evil/app"),
    )
    att_tag("prov-tampered", provenance(digest_of("prov-tampered"), COMMIT), tamper=True)
    # vulnerability reports
    image, repo = put("vuln-trivy")
    attach_report(
        trivy_report(["HIGH", "HIGH", "MEDIUM", "LOW"], stamp(1)), TRIVY, image, url, repo
    )
    image, repo = put("vuln-sarif")
    attach_report(sarif_report(["9.8", "7.5", "5.0"], stamp(2)), SARIF, image, url, repo)
    image, repo = put("vuln-cosign")
    result = trivy_report(["CRITICAL", "LOW"], stamp(3))
    statement = vuln_statement(image.digest, result, stamp(0.5))
    push_att_tag([(envelope(statement, key), VULN_PREDICATE)], image.digest, url, repo)
    image, repo = put("vuln-stale")
    attach_report(trivy_report(["LOW"], stamp(30)), TRIVY, image, url, repo)
    image, repo = put("vuln-newest")  # an old clean report and a new one with findings
    attach_report(trivy_report([], stamp(20)), TRIVY, image, url, repo)
    attach_report(trivy_report(["CRITICAL"], stamp(1)), TRIVY, image, url, repo)
    put("vuln-none")
    # signed vulnerability reports, for vulnerabilities with key/keys

    def vuln_att(name: str, signer: object, *, subject: str | None = None, **kw: bool) -> None:
        image, repo = put(name)
        clean = vuln_statement(subject or image.digest, trivy_report([], stamp(2)), stamp(1))
        data = envelope(clean, signer, **kw)
        push_att_tag([(data, VULN_PREDICATE)], image.digest, url, repo)

    vuln_att("vuln-signed-other", other)
    vuln_att("vuln-signed-tampered", key, tamper=True)
    vuln_att("vuln-signed-elsewhere", key, subject=digest_of("vuln-none"))
    # 40 attestations at the .att tag, the newest last with a critical finding: past the
    # bound of what is read, the newest are read
    image, repo = put("vuln-many")
    old = [
        vuln_statement(image.digest, trivy_report([], stamp(9)), stamp(9 - n / 10))
        for n in range(39)
    ]
    new = vuln_statement(image.digest, trivy_report(["CRITICAL"], stamp(1)), stamp(0.5))
    many = [(envelope(statement, key), VULN_PREDICATE) for statement in [*old, new]]
    push_att_tag(many, image.digest, url, repo)
    # a newer unsigned clean referrer beside an older signed report with a critical finding
    image, repo = put("vuln-mixed")
    critical = vuln_statement(image.digest, trivy_report(["CRITICAL"], stamp(3)), stamp(2))
    push_att_tag([(envelope(critical, key), VULN_PREDICATE)], image.digest, url, repo)
    attach_report(trivy_report([], stamp(0.1)), TRIVY, image, url, repo)
    # a signature by the second key only, for `signed` with `keys`
    image, repo = put("signed-other")
    sig = signature_image(other, image.digest, refs["signed-other"])
    push(sig, url, repo, image.digest.replace(":", "-") + ".sig")
    yield Seeded(policy_registry, refs, keys / "cosign.pub", keys / "other.pub")


def _check(
    seeded: Seeded, tmp_path: Path, name: str, rules: str, commit: str | None = COMMIT
) -> CheckReport:
    policy = tmp_path / "policy.yml"
    policy.write_text("policies:\n" + rules)
    return check_image(
        CheckRequest(
            reference=seeded.ref(name),
            policy_file=str(policy),
            insecure_registries=(seeded.registry.host,),
            commit=commit,
        )
    )


def _provenance(seeded: Seeded) -> str:
    return (
        f"  - rule: provenance\n    key: {seeded.key}\n"
        '    source: "https://github.com/acme/*"\n'
        '    builder: "https://github.com/acme/*"\n'
    )


@pytest.mark.parametrize(
    ("name", "passes", "says"),
    [
        ("prov-tag", True, "provenance (tag) verified with"),
        ("prov-referrer", True, "provenance (referrers) verified with"),
        ("prov-none", False, "no provenance attestation"),
        ("prov-other-digest", False, "attestation for another digest"),
        ("prov-other-commit", False, f"another commit ({OTHER_COMMIT[:12]})"),
        ("prov-untrusted", False, "does not verify with"),
        ("prov-builder", False, "builder id 'https://ci.evil.example/job/1' is outside"),
        ("prov-source", False, "source 'git+https://github.com/evil/app@refs/heads/main' is"),
        ("prov-tampered", False, "tampered payload"),
    ],
)
def test_provenance(seeded: Seeded, tmp_path: Path, name: str, passes: bool, says: str) -> None:
    report = _check(seeded, tmp_path, name, _provenance(seeded))
    (result,) = report.results
    assert (result.rule, result.status) == ("provenance", "pass" if passes else "fail")
    assert says in result.message, result.message
    if passes:
        assert "cosign.pub (sha256:" in result.message and COMMIT[:12] in result.message


def test_provenance_with_a_list_of_keys_names_the_one_that_verified(
    seeded: Seeded, tmp_path: Path
) -> None:
    rules = (
        f"  - rule: provenance\n    keys: [{seeded.other_key}, {seeded.key}]\n"
        '    source: "https://github.com/acme/*"\n'
    )
    (result,) = _check(seeded, tmp_path, "prov-untrusted", rules).results
    assert result.status == "pass" and f"verified with {seeded.other_key} (" in result.message


def test_provenance_without_a_commit_to_compare_fails(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not a git checkout, and no --commit
    for name in ("GITHUB_ACTIONS", "TF_BUILD"):
        monkeypatch.delenv(name, raising=False)
    (result,) = _check(seeded, tmp_path, "prov-tag", _provenance(seeded), commit=None).results
    assert result.status == "fail" and "no git commit is being promoted" in result.message


def test_attestations_written_by_promoter_attach_are_read_in_both_forms(
    seeded: Seeded, tmp_path: Path
) -> None:
    from promoter.registry.access.options import RegistryOptions
    from promoter.registry.remote.client import RegistryClient
    from promoter.signing.attach import attach_attestation
    from promoter.signing.dsse import parse_envelope

    url, host = seeded.registry.url, seeded.registry.host
    image = make_image(seed="attested-by-attach", user="app")
    push(image, url, "attested/by-attach", "1")
    private = generate_key()
    (tmp_path / "k.pub").write_bytes(public_pem(private))
    data = envelope(provenance(image.digest, COMMIT), private)
    options = RegistryOptions.from_environment(insecure_registries=[host])
    with RegistryClient(host, options) as client:
        attach_attestation(client, "attested/by-attach", image.digest, parse_envelope(data), SLSA)
    seeded.refs["by-attach"] = f"{host}/attested/by-attach:1"
    rules = f"  - rule: provenance\n    key: {tmp_path / 'k.pub'}\n    source: '*'\n"
    policy = tmp_path / "policy.yml"
    policy.write_text("policies:\n" + rules)
    facts_out = tmp_path / "facts.json"
    report = check_image(
        CheckRequest(
            reference=seeded.ref("by-attach"),
            policy_file=str(policy),
            insecure_registries=(host,),
            commit=COMMIT,
            facts_out=str(facts_out),
        )
    )
    assert report.ok, report.results
    facts = json.loads(facts_out.read_text())
    assert sorted(a["source"] for a in facts["attestations"]) == ["referrers", "tag"]
    assert {a["predicateType"] for a in facts["attestations"]} == {SLSA}
    # the saved facts judge alike offline
    offline = check_image(
        CheckRequest(facts_file=str(facts_out), policy_file=str(policy), commit=COMMIT)
    )
    assert offline.ok


@pytest.mark.parametrize(
    ("name", "limits", "keys", "passes", "says"),
    [
        ("vuln-trivy", "{critical: 0, high: 5}", None, True, "critical 0/0, high 2/5 in the trivy"),
        ("vuln-trivy", "{high: 1}", None, False, "too many vulnerabilities: 2 high (max 1)"),
        ("vuln-sarif", "{critical: 0}", None, False, "1 critical (max 0) in the sarif report"),
        ("vuln-sarif", "{critical: 1, high: 1, medium: 1}", None, True, "medium 1/1"),
        ("vuln-cosign", "{critical: 1, low: 1}", None, True, "cosign-vuln report (tag"),
        ("vuln-cosign", "{critical: 0}", None, False, "1 critical (max 0) in the cosign-vuln"),
        ("vuln-newest", "{critical: 0}", None, False, "1 critical (max 0)"),
        ("vuln-stale", "{critical: 0}", None, False, "is stale: made 30 days ago"),
        ("vuln-none", "{critical: 0}", None, False, "no vulnerability report attached"),
        # with key/keys only signed cosign vulnerability attestations of this digest count
        ("vuln-cosign", "{critical: 0}", "key", False, "in the cosign-vuln report (tag, "),
        ("vuln-cosign", "{critical: 1}", "key", True, "signed by {key})"),
        ("vuln-trivy", "{high: 9}", "key", False, "no vulnerability report verifies with {key}:"),
        ("vuln-signed-other", "{critical: 0}", "key", False, "verifies with {key}: 1 attached"),
        ("vuln-signed-other", "{critical: 0}", "both", True, "signed by {other})"),
        ("vuln-signed-tampered", "{critical: 0}", "key", False, "no vulnerability report verifies"),
        ("vuln-signed-elsewhere", "{critical: 0}", "key", False, "no vulnerability report"),
        ("vuln-mixed", "{critical: 0}", "key", False, "1 critical (max 0) in the cosign-vuln"),
        ("vuln-mixed", "{critical: 0}", None, True, "critical 0/0 in the trivy report"),
        ("vuln-many", "{critical: 0}", None, False, "1 critical (max 0) in the cosign-vuln"),
    ],
)
def test_vulnerabilities(
    seeded: Seeded,
    tmp_path: Path,
    name: str,
    limits: str,
    keys: str | None,
    passes: bool,
    says: str,
) -> None:
    rules = f"  - rule: vulnerabilities\n    max: {limits}\n"
    if keys is None:
        rules += "    max_age: 7d\n"
    elif keys == "key":
        rules += f"    key: {seeded.key}\n"
    else:
        rules += f"    keys: [{seeded.key}, {seeded.other_key}]\n"
    (result,) = _check(seeded, tmp_path, name, rules).results
    assert (result.rule, result.status) == ("vulnerabilities", "pass" if passes else "fail")
    expected = says.format(key=seeded.key, other=seeded.other_key)
    assert expected in result.message, result.message


def test_signed_with_a_list_of_keys_reports_which_verified(seeded: Seeded, tmp_path: Path) -> None:
    rules = f"  - rule: signed\n    keys: [{seeded.key}, {seeded.other_key}]\n"
    (result,) = _check(seeded, tmp_path, "signed-other", rules).results
    assert result.status == "pass"
    assert f"signed with {seeded.other_key} (sha256:" in result.message
    assert "found by tag" in result.message
    only = f"  - rule: signed\n    key: {seeded.key}\n"
    (refused,) = _check(seeded, tmp_path, "signed-other", only).results
    assert refused.status == "fail" and "does not verify with the key" in refused.message


def _cli(*args: str) -> tuple[int, dict, str]:
    done = run_cli(list(args), timeout=120)
    return done.returncode, json.loads(done.stdout or "{}"), done.stderr


def test_cli_check_passes_and_refuses(seeded: Seeded, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "policies:\n"
        + _provenance(seeded)
        + "  - rule: vulnerabilities\n    max: {critical: 0}\n    max_age: 7d\n"
    )
    host = seeded.registry.host
    common = ["--policy", str(policy), "--insecure-registry", host, "-o", "json"]
    code, doc, err = _cli("check", seeded.ref("prov-tag"), "--commit", COMMIT, *common)
    assert code == 1, err  # provenance passes; no vulnerability report
    assert [r["status"] for r in doc["results"]] == ["pass", "fail"]
    code, doc, err = _cli("check", seeded.ref("prov-tag"), "--commit", OTHER_COMMIT, *common)
    assert code == 1 and "another commit" in doc["results"][0]["message"]
    only = tmp_path / "provenance.yml"
    only.write_text("policies:\n" + _provenance(seeded))
    code, doc, err = _cli(
        "check", seeded.ref("prov-referrer"), "--commit", COMMIT, "--policy", str(only),
        "--insecure-registry", host, "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    assert doc["ok"] is True
