"""Bad declarations of the provenance, vulnerabilities and signed rules: exit 2 with
``FILE:LINE:COL: key.path: message``, from ``promoter validate`` (the schema and its
checks) and from ``promoter check --policy`` (the rules' own parsing), before any
registry is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.cli_runner import run_in_process, run_subprocess
from tests.config.test_broken_pipelines import HEAD, IMAGES

# The policies section starts at line 13; its first rule at line 14.
CASES = [
    ("  - rule: provenance\n    source: x\n", 14, 5, "policies[0]", "provenance needs exactly one of 'key'"),
    ("  - rule: provenance\n    key: keys/cosign.pub\n", 14, 5, "policies[0]", "missing required key 'source'"),
    ("  - rule: provenance\n    key: keys/missing.pub\n    source: x\n", 15, 10, "policies[0].key", "public key 'keys/missing.pub' does not exist"),
    ("  - rule: provenance\n    keys: [keys/cosign.pub, keys/gone.pub]\n    source: x\n", 15, 29, "policies[0].keys[1]", "public key 'keys/gone.pub' does not exist"),
    ("  - rule: provenance\n    keys: []\n    source: x\n", 15, 11, "policies[0].keys", "must not be empty"),
    ("  - rule: provenance\n    key: keys/cosign.pub\n    source: x\n    commit: abc\n", 17, 5, "policies[0].commit", "unknown key 'commit'"),
    ("  - rule: provenance\n    key: keys/cosign.pub\n    source: x\n    builder: ''\n", 17, 14, "policies[0].builder", "must not be an empty string"),
    ("  - rule: vulnerabilities\n    max_age: 7d\n", 14, 5, "policies[0]", "missing required key 'max'"),
    ("  - rule: vulnerabilities\n    max: {severe: 1}\n", 15, 11, "policies[0].max.severe", "unknown key 'severe'"),
    ("  - rule: vulnerabilities\n    max: {critical: -1}\n", 15, 21, "policies[0].max.critical", "-1"),
    ("  - rule: vulnerabilities\n    max: {high: many}\n", 15, 17, "policies[0].max.high", "expected an integer"),
    ("  - rule: vulnerabilities\n    max: {}\n", 15, 10, "policies[0].max", "must not be empty"),
    ("  - rule: vulnerabilities\n    max: {critical: 0}\n    max_age: 7\n", 16, 14, "policies[0].max_age", "'7' has no unit"),
    ("  - rule: signed\n    key: keys/cosign.pub\n    keys: [keys/cosign.pub]\n", 14, 5, "policies[0]", "signed needs exactly one of 'key'"),
]  # fmt: skip


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch AS build\nFROM scratch AS runtime\n")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "cosign.pub").write_text("-----BEGIN PUBLIC KEY-----\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("index", "case"), list(enumerate(CASES)), ids=[str(i) for i in range(len(CASES))]
)
def test_bad_declaration_exits_2_at_its_place(
    project: Path, index: int, case: tuple[str, int, int, str, str]
) -> None:
    rules, line, column, path, says = case
    (project / "pipeline.yml").write_text(HEAD + IMAGES + "policies:\n" + rules)
    args = ["validate", "-f", "pipeline.yml"]
    outcome = run_subprocess(args, cwd=project) if index % 2 == 0 else run_in_process(args)
    assert outcome.code == 2, outcome
    first = outcome.first_error_line
    assert first.startswith(f"error: pipeline.yml:{line}:{column}: {path}: "), first
    assert says in first, first
    assert "Traceback" not in outcome.stderr


def test_good_declarations_are_valid(project: Path) -> None:
    rules = (
        "  - rule: provenance\n    keys: [keys/cosign.pub]\n"
        '    source: "https://github.com/acme/*"\n    builder: "https://github.com/acme/*"\n'
        "  - rule: vulnerabilities\n    max: {critical: 0, high: 5}\n    max_age: 7d\n"
        "  - rule: signed\n    keys: [keys/cosign.pub]\n"
    )
    (project / "pipeline.yml").write_text(HEAD + IMAGES + "policies:\n" + rules)
    outcome = run_in_process(["validate", "-f", "pipeline.yml"])
    assert outcome.code == 0, outcome.stderr


@pytest.mark.parametrize(
    ("rules", "says"),
    [
        ("  - rule: vulnerabilities\n    max: {severe: 1}\n", "policies[0].max.severe: unknown severity 'severe'"),
        ("  - rule: vulnerabilities\n    max: {high: -2}\n", "policies[0].max.high: must be a count"),
        ("  - rule: vulnerabilities\n    max: {high: 1}\n    max_age: soon\n", "policies[0].max_age:"),
        ("  - rule: provenance\n    key: keys/real.pub\n", "policies[0].source: rule 'provenance' needs 'source'"),
        ("  - rule: provenance\n    source: x\n", "policies[0].key: rule 'provenance' needs 'key'"),
        ("  - rule: provenance\n    key: keys/cosign.pub\n    source: x\n", "keys/cosign.pub: not a PEM public key"),
        ("  - rule: provenance\n    key: k\n    keys: [k]\n    source: x\n", "takes 'key' or 'keys', not both"),
    ],
)  # fmt: skip
def test_check_policy_file_refuses_bad_options(project: Path, rules: str, says: str) -> None:
    from tests.policy.crafting import generate_key, public_pem

    (project / "keys" / "real.pub").write_bytes(public_pem(generate_key()))
    (project / "policy.yml").write_text("policies:\n" + rules)
    outcome = run_in_process(["check", "127.0.0.1:1/app:1", "--policy", "policy.yml"])
    assert outcome.code == 2, outcome
    first = outcome.first_error_line
    assert first.startswith("error: policy.yml:2"), first
    assert says in first, first
