"""``promoter check`` against images crafted in a real registry (Debian's docker-registry):
every rule passing and failing, through the library and the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from promoter.cli.main import main
from promoter.policy.imagecheck import CheckRequest, check_image
from promoter.policy.results import CheckReport
from tests.policy.crafting import (
    attach,
    generate_key,
    public_pem,
    push,
    signature_image,
    simple_signing_payload,
)
from tests.policy.sarif_schema import sarif_errors
from tests.support.images import Image, make_artifact, make_image, make_index
from tests.support.registry import Registry

pytestmark = pytest.mark.registry

NOW = datetime.now(timezone.utc)
RECENT = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
LEAKED = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
LEAKED_DB = "hunter2-correct-horse"
LABELS = {
    "org.opencontainers.image.source": "https://example.invalid/app",
    "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
}
BASE = {
    "org.opencontainers.image.base.name": "docker.io/library/alpine:3.20",
    "org.opencontainers.image.base.digest": "sha256:" + "9" * 64,
}


@dataclass
class Seeded:
    """What the module's registry holds: references by name, the test keys."""

    registry: Registry
    refs: dict[str, str]
    key_pem: Path
    other_key_pem: Path
    digests: dict[str, str]

    def ref(self, name: str) -> str:
        return self.refs[name]


def _image(seed: str, **kwargs: Any) -> Image:
    kwargs.setdefault("user", "app")
    kwargs.setdefault("labels", LABELS)
    kwargs.setdefault("created", RECENT)
    kwargs.setdefault("annotations", BASE)
    return make_image(seed=seed, **kwargs)


def _foreign(seed: str) -> Image:
    """An image with a Docker foreign layer (its blob lives elsewhere; never pushed)."""
    base = make_image(seed=seed, docker=True, user="app")
    manifest = base.manifest
    manifest["layers"].append(
        {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "digest": "sha256:" + "7" * 64,
            "size": 1234,
            "urls": ["https://example.invalid/foreign-layer.tar.gz"],
        }
    )
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    return Image(base.media_type, raw, base.blobs, platform=base.platform)


@pytest.fixture(scope="module")
def seeded(policy_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    registry = policy_registry
    url, host = registry.url, registry.host
    refs: dict[str, str] = {}
    digests: dict[str, str] = {}

    def put(name: str, image: Image, repo: str | None = None) -> Image:
        repository = repo or f"policy/{name}"
        digests[name] = push(image, url, repository, "1")
        refs[name] = f"{host}/{repository}:1"
        return image

    good = put(
        "good",
        make_index(
            [
                _image("good-amd64", layer_sizes=[2048]),
                _image("good-arm64", layer_sizes=[2048], architecture="arm64", variant="v8"),
            ]
        ),
    )
    attach(
        make_artifact(good, artifact_type="application/spdx+json"), good.digest, url, "policy/good"
    )
    key, other_key = generate_key(), generate_key()
    push(
        signature_image(key, good.digest, refs["good"]),
        url,
        "policy/good",
        good.digest.replace(":", "-") + ".sig",
    )

    put("root", _image("root", user=None))
    put("root0", _image("root0", user="0:0"))
    put(
        "big",
        make_index(
            [
                _image("big-amd64", layer_sizes=[10 * 1024]),
                _image("big-arm64", layer_sizes=[300 * 1024], architecture="arm64", variant="v8"),
            ]
        ),
    )
    put(
        "nolabels",
        _image("nolabels", labels={"org.opencontainers.image.source": "not-a-url"}, annotations={}),
    )
    put("old", _image("old", created="2020-01-01T00:00:00Z"))
    put("repro", _image("repro", created="1970-01-01T00:00:00Z"))
    put(
        "leak",
        _image(
            "leak",
            env=["PATH=/usr/bin", f"AWS_SECRET_ACCESS_KEY={LEAKED}"],
            history=[
                {
                    "created": RECENT,
                    "created_by": f"/bin/sh -c export DB_PASSWORD={LEAKED_DB} && make",
                }
            ],
        ),
    )
    put("foreign", _foreign("foreign"))
    put(
        "otherbase",
        _image(
            "otherbase",
            annotations={"org.opencontainers.image.base.name": "docker.io/library/ubuntu:24.04"},
        ),
    )

    # Signatures: valid by tag (above, on "good"), valid as a referrer, and broken ones.
    for name in ("sig-referrer", "sig-wrong-key", "sig-other-digest", "sig-tampered", "unsigned"):
        put(name, _image(name))
    subject = _image("sig-referrer")
    attach(
        signature_image(key, subject.digest, refs["sig-referrer"], subject=subject),
        subject.digest,
        url,
        "policy/sig-referrer",
    )

    def sig_tag(name: str, image: Image) -> None:
        push(image, url, f"policy/{name}", digests[name].replace(":", "-") + ".sig")

    sig_tag(
        "sig-wrong-key", signature_image(other_key, digests["sig-wrong-key"], refs["sig-wrong-key"])
    )
    sig_tag("sig-other-digest", signature_image(key, digests["good"], refs["sig-other-digest"]))
    honest = simple_signing_payload(digests["sig-tampered"], refs["sig-tampered"])
    tampered = honest.replace(
        b"cosign container image signature", b"cosign container image signaturE"
    )
    sig_tag(
        "sig-tampered",
        signature_image(
            key,
            digests["sig-tampered"],
            refs["sig-tampered"],
            signed_payload=honest,
            stored_payload=tampered,
        ),
    )

    folder = tmp_path_factory.mktemp("keys")
    (folder / "cosign.pub").write_bytes(public_pem(key))
    (folder / "other.pub").write_bytes(public_pem(other_key))
    yield Seeded(registry, refs, folder / "cosign.pub", folder / "other.pub", digests)


def _policy(tmp_path: Path, body: str) -> str:
    path = tmp_path / "policy.yml"
    path.write_text("policies:\n" + body)
    return str(path)


def _check(seeded: Seeded, tmp_path: Path, name: str, body: str, **extra: Any) -> CheckReport:
    request = CheckRequest(
        reference=seeded.ref(name),
        policy_file=_policy(tmp_path, body),
        insecure_registries=(seeded.registry.host,),
        **extra,
    )
    return check_image(request)


def _by_platform(report: CheckReport) -> dict[str | None, str]:
    return {r.platform: r.status for r in report.results}


# -- one test per rule, passing and failing --------------------------------------------


def test_non_root(seeded: Seeded, tmp_path: Path) -> None:
    body = "  - rule: non-root\n"
    assert _by_platform(_check(seeded, tmp_path, "good", body)) == {
        "linux/amd64": "pass",
        "linux/arm64/v8": "pass",
    }
    root = _check(seeded, tmp_path, "root", body)
    assert not root.ok and "no USER" in root.results[0].message
    assert (
        root.results[0].line == 2
        and root.results[0].file
        and root.results[0].file.endswith("policy.yml")
    )
    assert not _check(seeded, tmp_path, "root0", body).ok


def test_required_labels(seeded: Seeded, tmp_path: Path) -> None:
    body = "  - rule: required-labels\n    labels:\n      org.opencontainers.image.source: 'https://.*'\n      org.opencontainers.image.revision:\n"
    assert _check(seeded, tmp_path, "good", body).ok
    bad = _check(seeded, tmp_path, "nolabels", body)
    assert not bad.ok
    assert (
        "does not match" in bad.results[0].message
        and "revision is missing" in bad.results[0].message
    )


def test_max_size_per_platform_of_an_index(seeded: Seeded, tmp_path: Path) -> None:
    report = _check(seeded, tmp_path, "big", "  - rule: max-size\n    max: 100KiB\n")
    assert _by_platform(report) == {"linux/amd64": "pass", "linux/arm64/v8": "fail"}
    assert not report.ok


def test_platforms(seeded: Seeded, tmp_path: Path) -> None:
    assert _check(
        seeded, tmp_path, "good", "  - rule: platforms\n    exact: [linux/amd64, linux/arm64]\n"
    ).ok
    report = _check(
        seeded, tmp_path, "root", "  - rule: platforms\n    required: [linux/amd64, linux/arm64]\n"
    )
    assert not report.ok and "missing linux/arm64" in report.results[0].message


def test_media_types(seeded: Seeded, tmp_path: Path) -> None:
    assert _check(seeded, tmp_path, "good", "  - rule: media-types\n").ok
    report = _check(seeded, tmp_path, "foreign", "  - rule: media-types\n")
    assert not report.ok and "foreign" in report.results[0].message


def test_base_image(seeded: Seeded, tmp_path: Path) -> None:
    body = "  - rule: base-image\n    allow: ['docker.io/library/alpine:*']\n    require_digest: true\n"
    assert _check(seeded, tmp_path, "good", body).ok
    report = _check(seeded, tmp_path, "otherbase", body)
    assert (
        not report.ok
        and "ubuntu" in report.results[0].message
        and "pins" in report.results[0].message
    )


def test_max_age_old_and_reproducible(seeded: Seeded, tmp_path: Path) -> None:
    body = "  - rule: max-age\n    max: 30d\n"
    assert _check(seeded, tmp_path, "good", body).ok
    assert not _check(seeded, tmp_path, "old", body).ok
    repro = _check(seeded, tmp_path, "repro", body)
    assert repro.ok and "reproducible" in repro.results[0].message


def test_referrers_sbom_attached(seeded: Seeded, tmp_path: Path) -> None:
    body = "  - rule: referrers\n    artifact_types: [application/spdx+json]\n"
    assert _check(seeded, tmp_path, "good", body).ok
    assert not _check(seeded, tmp_path, "root", body).ok


def test_schema_rule(seeded: Seeded, tmp_path: Path) -> None:
    (tmp_path / "facts.schema.json").write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {
                    "platforms": {
                        "minItems": 2,
                        "items": {"properties": {"exposedPorts": {"maxItems": 0}}},
                    }
                },
            }
        )
    )
    body = "  - rule: schema\n    schema: facts.schema.json\n"
    assert _check(seeded, tmp_path, "good", body).ok
    report = _check(seeded, tmp_path, "root", body)
    assert not report.ok and "platforms" in report.results[0].message


@pytest.mark.parametrize(
    ("name", "passes", "reason"),
    [
        ("good", True, "found by tag"),
        ("sig-referrer", True, "found by referrers"),
        ("sig-wrong-key", False, "does not verify with the key"),
        ("sig-other-digest", False, "signature is for sha256:"),
        ("sig-tampered", False, "does not verify with the key"),
        ("unsigned", False, "no cosign signature found"),
    ],
)
def test_signed(seeded: Seeded, tmp_path: Path, name: str, passes: bool, reason: str) -> None:
    body = f"  - rule: signed\n    key: {seeded.key_pem}\n"
    report = _check(seeded, tmp_path, name, body)
    assert report.ok is passes, report.results
    assert reason in report.results[0].message


def test_signed_with_another_key_fails(seeded: Seeded, tmp_path: Path) -> None:
    report = _check(
        seeded, tmp_path, "good", f"  - rule: signed\n    key: {seeded.other_key_pem}\n"
    )
    assert not report.ok and "does not verify" in report.results[0].message


# -- secrets never leave ------------------------------------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_leaked_secret_fails_and_the_value_is_in_no_output(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy(tmp_path, "  - rule: no-secrets\n")
    facts = tmp_path / "facts.json"
    base = [
        "check",
        seeded.ref("leak"),
        "--policy",
        policy,
        "--insecure-registry",
        seeded.registry.host,
    ]
    outputs = {}
    for fmt in ("text", "json", "sarif", "markdown"):
        code, out, err = _run([*base, "--output", fmt, "--facts-out", str(facts)], capsys)
        assert code == 1, (fmt, out, err)
        outputs[fmt] = out + err
        if fmt == "sarif":
            assert sarif_errors(json.loads(out)) == []
    outputs["facts"] = facts.read_text()
    for fmt, text in outputs.items():
        assert LEAKED not in text, fmt
        assert LEAKED_DB not in text, fmt
    assert "AWS_SECRET_ACCESS_KEY" in outputs["text"] and "DB_PASSWORD" in outputs["text"]
    assert "AWS_SECRET_ACCESS_KEY=<redacted:secret-name>" in outputs["facts"]
    # the redacted facts still fail offline
    code, out, _ = _run(["check", "--facts", str(facts), "--policy", policy], capsys)
    assert code == 1 and "AWS_SECRET_ACCESS_KEY" in out
    assert _check(seeded, tmp_path, "good", "  - rule: no-secrets\n").ok


# -- the command line -------------------------------------------------------------------


def test_cli_exit_codes_and_offline_facts(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy(
        tmp_path, "  - rule: non-root\n  - rule: max-size\n    max: 1MiB\n    mode: warn\n"
    )
    facts = tmp_path / "out" / "facts.json"
    host = seeded.registry.host
    code, out, _ = _run(
        [
            "check",
            seeded.ref("good"),
            "--policy",
            policy,
            "--insecure-registry",
            host,
            "--facts-out",
            str(facts),
        ],
        capsys,
    )
    assert code == 0 and "passed: 4 passed" in out
    document = json.loads(facts.read_text())
    assert document["digest"] == seeded.digests["good"]
    assert [p["platform"] for p in document["platforms"]] == ["linux/amd64", "linux/arm64/v8"]
    code, out, _ = _run(["check", "--facts", str(facts), "--policy", policy, "-o", "json"], capsys)
    assert code == 0 and json.loads(out)["summary"] == {"pass": 4, "fail": 0, "warn": 0}
    code, out, _ = _run(
        ["check", seeded.ref("root"), "--policy", policy, "--insecure-registry", host], capsys
    )
    assert code == 1 and "FAIL non-root" in out
    # warn mode: a failed rule in warn mode exits 0
    warn = _policy(tmp_path, "  - rule: non-root\n    mode: warn\n")
    code, out, _ = _run(
        ["check", seeded.ref("root"), "--policy", warn, "--insecure-registry", host], capsys
    )
    assert code == 0 and "WARN non-root" in out


def test_cli_registry_unreadable_exits_3(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy(tmp_path, "  - rule: non-root\n")
    host = seeded.registry.host
    code, _, err = _run(
        [
            "check",
            f"{host}/policy/does-not-exist:1",
            "--policy",
            policy,
            "--insecure-registry",
            host,
        ],
        capsys,
    )
    assert code == 3 and err.startswith("error: ") and "Traceback" not in err
    from tests.support.registry import free_port

    dead = f"127.0.0.1:{free_port()}"
    code, _, err = _run(
        ["check", f"{dead}/x:1", "--policy", policy, "--insecure-registry", dead], capsys
    )
    assert code == 3 and "Traceback" not in err


def test_cli_bad_input_exits_2_before_the_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _policy(tmp_path, "  - rule: max-size\n    max: huge\n")
    code, _, err = _run(["check", "127.0.0.1:9/x:1", "--policy", bad], capsys)
    assert code == 2 and "policy.yml:2" in err and "Traceback" not in err
    code, _, err = _run(["check", "--policy", bad], capsys)
    assert code == 2


def test_cli_rules_from_a_pipeline_file(
    seeded: Seeded,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = seeded.registry.host
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "cosign.pub").write_bytes(seeded.key_pem.read_bytes())
    (tmp_path / "pipeline.yml").write_text(
        f"""version: 1
registries:
  staging:
    host: {host}
    insecure: true
images:
  app:
    build:
      context: app
    staging: staging/policy/good
policies:
  - rule: non-root
  - rule: signed
    key: keys/cosign.pub
  - rule: max-size
    max: 1KiB
    mode: warn
  - rule: max-age
    max: 30d
  - rule: schema
    schema: facts.schema.json
"""
    )
    (tmp_path / "facts.schema.json").write_text('{"required": ["digest", "platforms"]}')
    monkeypatch.chdir(tmp_path)
    # insecure comes from the pipeline's registry settings; rules from ./pipeline.yml
    code, out, err = _run(["check", seeded.ref("good"), "-o", "sarif"], capsys)
    assert code == 0, err
    document = json.loads(out)
    assert sarif_errors(document) == []
    results = document["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("max-size", "warning")] * 2
    region = results[0]["locations"][0]["physicalLocation"]
    assert (
        region["artifactLocation"]["uri"] == "pipeline.yml" and region["region"]["startLine"] == 15
    )
    code, out, _ = _run(
        ["check", seeded.ref("unsigned"), "-f", "pipeline.yml", "-o", "markdown"], capsys
    )
    assert code == 1 and "| ❌ fail | `signed` |" in out and "pipeline.yml:13" in out
