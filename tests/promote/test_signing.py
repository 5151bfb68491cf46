"""Signatures at promotion on real registries: ``sign: true`` signs each promoted digest
in each destination (cosign's ``.sig`` tag and a referrer) before the tags; the plan
shows ``sign`` actions; a re-run signs nothing; a second key keeps the first; the
record names the signer; a wrong password is exit 2; no key or password text ever
appears in output, plan files or records. Verified by the ``signed`` rule at the
destination and, independently, with ``cryptography`` over what skopeo reads."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from promoter.promote import PROMOTION_ARTIFACT_TYPE
from tests.promote.project import (
    CLEAN_ENV,
    Project,
    fallback_index,
    head_digest,
    record_document,
)
from tests.support.cli import run_cli
from tests.support.real_parts import require, skopeo_raw, tool_missing
from tests.support.registry import Registry

pytestmark = pytest.mark.registry

PASSWORD = "correct horse battery staple 42"
OTHER_PASSWORD = "another pass phrase, 7 words long"
SIG_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, cwd=cwd, env={**CLEAN_ENV, "COSIGN_PASSWORD": PASSWORD, **env})


def _signing_project(make_project: Callable[..., Project]) -> Project:
    project = make_project(
        promote='- to: [prod-a/{name}, prod-b/{name}]\n  tags: ["{{version}}"]\n  sign: true\n'
    )
    made = _cli("keygen", "--out-prefix", "cosign", cwd=project.root)
    assert made.returncode == 0, made.stderr
    project.file.write_text(project.file.read_text() + "signing:\n  key_file: cosign.key\n")
    return project


def _sig_manifest(registry: Registry, digest: str) -> dict:
    tag = digest.replace(":", "-") + ".sig"
    return json.loads(skopeo_raw(f"{registry.host}/web:{tag}"))


def _verified_by(registry: Registry, digest: str, public_pem: bytes) -> list[bool]:
    """Independently: each signature layer's payload verified with ``cryptography``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(public_pem)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    found = []
    for layer in _sig_manifest(registry, digest)["layers"]:
        assert layer["mediaType"] == SIG_LAYER
        payload = httpx.get(f"{registry.url}/v2/web/blobs/{layer['digest']}", timeout=30).content
        document = json.loads(payload)
        assert document["critical"]["image"]["docker-manifest-digest"] == digest
        assert document["critical"]["identity"]["docker-reference"] == f"{registry.host}/web"
        signature = base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
        try:
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
            found.append(True)
        except InvalidSignature:
            found.append(False)
    return found


def _record(registry: Registry, digest: str) -> dict:
    index = fallback_index(registry.url, digest)
    found = [m for m in index["manifests"] if m.get("artifactType") == PROMOTION_ARTIFACT_TYPE]
    return record_document(registry.url, found[-1]["digest"])


def _fingerprint(public_pem: bytes) -> str:
    import hashlib

    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(public_pem)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def test_promotion_signs_once_per_key_and_keeps_other_signers(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    require(tool_missing("skopeo"))
    project = _signing_project(make_project)
    image = project.seed()
    root = project.root
    public = (root / "cosign.pub").read_bytes()
    seen: list[str] = []

    # The plan shows a signature to make in each destination, beside the copies.
    plan_file = tmp_path / "plan.json"
    plan = _cli("plan", "-f", str(project.file), "--out", str(plan_file), cwd=root)
    assert plan.returncode == 0, plan.stderr
    seen += [plan.stdout, plan.stderr, plan_file.read_text()]
    assert "(signature)" in plan.stdout
    planned = json.loads(plan_file.read_text())
    signs = planned["images"][0]["signs"]
    assert [s["action"] for s in signs] == ["sign", "sign"]
    assert {s["fingerprint"] for s in signs} == {_fingerprint(public)}
    assert planned["summary"]["sign"] == 2

    applied = _cli("apply", str(plan_file), "--output", "json", cwd=root)
    assert applied.returncode == 0, applied.stderr
    seen += [applied.stdout, applied.stderr]
    for registry in (project.prod_a, project.prod_b):
        assert head_digest(registry, "web", "1.2.3") == image.digest
        assert _verified_by(registry, image.digest, public) == [True]
        record = _record(registry, image.digest)
        seen.append(json.dumps(record))
        assert record["signatures"] == [
            {"fingerprint": _fingerprint(public), "format": "cosign simple signing"}
        ]
        # promoter's own signed rule verifies at the destination (tag form and referrer)
        policy = tmp_path / "signed.yml"
        policy.write_text(f"policies:\n  - rule: signed\n    key: {root / 'cosign.pub'}\n")
        checked = _cli(
            "check",
            f"{registry.host}/web:1.2.3",
            "--policy",
            str(policy),
            "--insecure-registry",
            registry.host,
            "--output",
            "json",
            cwd=root,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "found by referrers, tag" in checked.stdout

    # A re-run signs nothing again.
    before = _sig_manifest(project.prod_a, image.digest)
    again = _cli("run", "--stage", "check,promote", "-f", str(project.file), cwd=root)
    assert again.returncode == 0, again.stderr
    seen += [again.stdout, again.stderr]
    assert "signed  " in again.stdout or "signed" in again.stdout
    assert _sig_manifest(project.prod_a, image.digest) == before

    # A second key signs too, and the first signature stays.
    other = _cli("keygen", "--out-prefix", "other", cwd=root, COSIGN_PASSWORD=OTHER_PASSWORD)
    assert other.returncode == 0, other.stderr
    text = project.file.read_text().replace(
        "sign: true", "sign: {key: other.key, password_env: OTHER_PASSWORD}"
    )
    project.file.write_text(text)
    second = _cli(
        "run",
        "--stage",
        "check,promote",
        "-f",
        str(project.file),
        "--output",
        "json",
        cwd=root,
        OTHER_PASSWORD=OTHER_PASSWORD,
    )
    assert second.returncode == 0, second.stderr
    seen += [second.stdout, second.stderr]
    other_public = (root / "other.pub").read_bytes()
    for registry in (project.prod_a, project.prod_b):
        assert _verified_by(registry, image.digest, public) == [True, False]
        assert _verified_by(registry, image.digest, other_public) == [False, True]

    # No key or password text anywhere promoter wrote or said.
    secrets = [PASSWORD, OTHER_PASSWORD]
    for name in ("cosign.key", "other.key"):
        pem = (root / name).read_text()
        body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
        secrets += [pem.strip(), body[:40], body[-40:]]
    for text in seen:
        for secret in secrets:
            assert secret not in text


def test_wrong_or_missing_password_is_exit_2(make_project: Callable[..., Project]) -> None:
    project = _signing_project(make_project)
    project.seed()
    wrong = _cli("plan", "-f", str(project.file), cwd=project.root, COSIGN_PASSWORD="nope nope")
    assert wrong.returncode == 2, wrong.stderr
    assert "wrong password for the signing key" in wrong.stderr.splitlines()[0]
    assert "nope nope" not in wrong.stdout + wrong.stderr
    env = {k: v for k, v in CLEAN_ENV.items() if k != "COSIGN_PASSWORD"}
    unset = run_cli(["plan", "-f", str(project.file)], cwd=project.root, env=env)
    assert unset.returncode == 2, unset.stderr
    assert "COSIGN_PASSWORD is not set" in unset.stderr


def test_a_signature_whose_rule_does_not_apply_needs_no_key(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    """A pull request's run has no signing secrets: a rule signing on tags only is
    skipped without loading the key, and the plan still applies."""
    project = make_project(
        git_tag="",
        promote=(
            '- to: [prod-a/{name}]\n  tags: ["{{sha}}"]\n  when: "branch:*"\n'
            "- to: [prod-b/{name}]\n  tags: [release]\n  when: tag\n  sign: true\n"
        ),
    )
    project.file.write_text(project.file.read_text() + "signing:\n  key_env: NOT_SET_HERE\n")
    image = project.seed(tag="sha-" + _short_head(project.root))
    env = {k: v for k, v in CLEAN_ENV.items() if k not in ("COSIGN_PASSWORD", "NOT_SET_HERE")}
    plan_file = tmp_path / "plan.json"
    args = ["plan", "-f", str(project.file), "--out", str(plan_file)]
    planned = run_cli(args, cwd=project.root, env=env)
    assert planned.returncode == 0, planned.stderr
    (sign,) = json.loads(plan_file.read_text())["images"][0]["signs"]
    assert sign["action"] == "skipped" and "fingerprint" not in sign
    assert "when: tag is false" in sign["reason"]
    row = next(line for line in planned.stdout.splitlines() if "(signature)" in line)
    assert row.split()[0] == "skipped" and "key sha256" not in row
    applied = run_cli(["apply", str(plan_file)], cwd=project.root, env=env)
    assert applied.returncode == 0, applied.stderr
    short = _short_head(project.root)
    assert head_digest(project.prod_a, "web", short) == image.digest
    assert head_digest(project.prod_b, "web", "release") is None


def _short_head(root: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short=7", "HEAD"], cwd=root, capture_output=True, text=True
    )
    return done.stdout.strip()


def test_a_failed_policy_blocks_the_signatures_with_the_copies(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = _signing_project(make_project)
    image = project.seed(user="0")  # non-root fails
    plan_file = tmp_path / "plan.json"
    planned = _cli("plan", "-f", str(project.file), "--out", str(plan_file), cwd=project.root)
    assert planned.returncode == 1, planned.stderr
    (planned_image,) = json.loads(plan_file.read_text())["images"]
    assert {a["action"] for a in planned_image["actions"]} == {"blocked"}
    assert [s["action"] for s in planned_image["signs"]] == ["blocked", "blocked"]
    assert all(s["reason"].startswith("policy failed") for s in planned_image["signs"])
    for registry in (project.prod_a, project.prod_b):
        assert head_digest(registry, "web", image.digest.replace(":", "-") + ".sig") is None


def test_a_signature_tag_written_after_the_plan_read_the_tags_is_kept(
    make_project: Callable[..., Project], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan reads each destination's tags list once (#24); cosign's ``.sig`` tag that
    another signer writes after that, while ours copies, is still read before ours is
    appended: both signatures stay."""
    from promoter.pipeline import run_pipeline
    from promoter.transfer import SilentProgress
    from tests.support.images import make_artifact, push_http

    project = _signing_project(make_project)
    image = project.seed()
    theirs = make_artifact(image, payload=b'{"another": "signer"}')
    sig_tag = image.digest.replace(":", "-") + ".sig"

    class OtherSigner(SilentProgress):
        def finished(self, destination: str, digest: str) -> None:
            if destination.startswith(project.prod_a.host):
                push_http(theirs, project.prod_a.url, "web", sig_tag)

    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    report = run_pipeline(project.request(listener=OtherSigner()))
    assert report.exit_code == 0
    layers = [layer["digest"] for layer in _sig_manifest(project.prod_a, image.digest)["layers"]]
    assert layers[: len(theirs.layer_digests)] == theirs.layer_digests, layers
    assert len(layers) == len(theirs.layer_digests) + 1, layers  # theirs, then ours
