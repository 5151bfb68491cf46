"""``promoter check`` refusals of bad input: one clear line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.cli.main import main
from tests.policy.factsdocs import facts_doc


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


@pytest.fixture
def policy(tmp_path: Path) -> str:
    path = tmp_path / "policy.yml"
    path.write_text("policies:\n  - rule: non-root\n")
    return str(path)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["check", "--policy", "{policy}"], "give an image reference REF, or saved facts"),
        (["check", "127.0.0.1:1/a:1", "--facts", "{facts}", "--policy", "{policy}"], "not both"),
        (["check", "127.0.0.1:1/a:1", "--policy", "{policy}", "-f", "{policy}"], "not both"),
        (["check", "--facts", "{facts}", "--policy", "{tmp}/missing.yml"], "no such file"),
        (["check", "--facts", "{tmp}/missing.json", "--policy", "{policy}"], "no such file"),
        (["check", "--facts", "{policy}", "--policy", "{policy}"], "not valid JSON"),
        (
            ["check", "--facts", "{tmp}/other.json", "--policy", "{policy}"],
            "not an image facts document",
        ),
        (
            ["check", "--facts", "{tmp}/huge.json", "--policy", "{policy}"],
            "limited to 4194304 bytes",
        ),
        (["check", "--facts", "{tmp}/deep.json", "--policy", "{policy}"], "nested too deeply"),
        (
            ["check", "--facts", "{tmp}/twice.json", "--policy", "{policy}"],
            "duplicate key 'digest'",
        ),
        (["check", "--facts", "/dev/zero", "--policy", "{policy}"], "not a regular file"),
        (["check", "oci:{tmp}/layout", "--policy", "{policy}"], "reads images in a registry"),
        (["check", "Not A Reference!", "--policy", "{policy}"], ""),
    ],
)
def test_bad_input_exits_2(
    args: list[str],
    expected: str,
    policy: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(facts_doc()))
    (tmp_path / "other.json").write_text('{"hello": 1}')
    (tmp_path / "huge.json").write_text('{"pad": "' + "x" * (5 * 1024 * 1024) + '"}')
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "twice.json").write_text('{"digest": "a", "digest": "b"}')
    argv = [a.format(policy=policy, facts=facts, tmp=tmp_path) for a in args]
    code, out, err = _run([*argv, "--facts-out", str(tmp_path / "written.json")], capsys)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and expected in err.splitlines()[0]
    assert "Traceback" not in err
    assert not (tmp_path / "written.json").exists()


def test_no_rules_anywhere_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(["check", "127.0.0.1:1/a:1"], capsys)
    assert code == 2 and "pipeline.yml: no such file" in err and "--policy" in err


def test_a_missing_key_file_is_a_config_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("policies:\n  - rule: non-root\n  - rule: signed\n    key: nowhere.pub\n")
    facts = tmp_path / "facts.json"
    facts.write_text(__import__("json").dumps(facts_doc()))
    code, _, err = _run(["check", "--facts", str(facts), "--policy", str(policy)], capsys)
    assert code == 2 and f"{policy}:3: policies[1].key: cannot read key nowhere.pub" in err
    policy.write_text("policies:\n  - rule: signed\n    key: policy.yml\n")
    code, _, err = _run(["check", "--facts", str(facts), "--policy", str(policy)], capsys)
    assert code == 2 and "not a PEM public key" in err
