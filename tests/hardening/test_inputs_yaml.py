"""Every YAML input goes through one loader: the same refusal, at the same place, in every file.

The pipeline file (``validate -f``), a policy file (``check --policy``) and a
custom JSON Schema of the ``schema`` rule are read alike: duplicate keys,
explicit tags, aliases, deep nesting and numbers out of range are exit 2 at
``file:line:col: key.path: message``; a file past the size cap is refused
before it is parsed. Mutations of the shipped examples never make an
internal error.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promoter.config.inputfile import MAX_FILE_BYTES
from tests.config.cli_runner import CliResult, run_in_process

ROOT = Path(__file__).resolve().parents[2]

#: (name, YAML put under the key ``a``'s place, line, column, key path, message)
CASES = [
    ("duplicate", "policies: []\npolicies: []\n", 2, 1, "policies", "duplicate key 'policies'"),
    (
        "python-tag",
        "x: !!python/object/apply:os.system ['true']\n",
        1,
        4,
        "x",
        "unsupported YAML tag",
    ),
    ("str-tag", "x: !!str 1\n", 1, 4, "x", "unsupported YAML tag"),
    ("local-tag", "x: !shell echo\n", 1, 4, "x", "unsupported YAML tag"),
    (
        "tagged-key",
        "!!python/name:os.system : 1\n",
        1,
        1,
        None,
        "mapping keys must be plain strings",
    ),
    (
        "alias",
        "x: &a [1, 2]\ny: [*a, *a]\n",
        2,
        5,
        "y[0]",
        "YAML aliases (*name) are not supported",
    ),
    (
        "deep",
        "x: " + "[" * 80 + "]" * 80 + "\n",
        1,
        67,
        "x[0][0][0][0][0]...",
        "nesting deeper than 64",
    ),
    ("huge-int", "x: 1" + "0" * 5000 + "\n", 1, 4, "x", "is not a valid int"),
    ("big-int", "x: 1" + "0" * 30 + "\n", 1, 4, "x", "integer out of range"),
    ("inf-float", "x: 1.0e+400\n", 1, 4, "x", "is not finite"),
    ("nan", "x: .nan\n", 1, 4, "x", "is not finite"),
]


def _first(outcome: CliResult) -> str:
    assert outcome.code == 2, outcome
    assert "Traceback" not in outcome.stderr and "internal error" not in outcome.stderr
    return outcome.first_error_line


def _expected(file: str, line: int, column: int, path: str | None) -> str:
    return f"error: {file}:{line}:{column}: " + (f"{path}: " if path else "")


@pytest.mark.parametrize(
    ("name", "text", "line", "column", "path", "says"), CASES, ids=[c[0] for c in CASES]
)
def test_the_pipeline_and_a_policy_file_refuse_alike(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    text: str,
    line: int,
    column: int,
    path: str | None,
    says: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipeline.yml").write_text(text)
    (tmp_path / "policy.yml").write_text(text)
    pipeline = _first(run_in_process(["validate", "-f", "pipeline.yml"]))
    policy = _first(run_in_process(["check", "--policy", "policy.yml", "localhost:1/x:y"]))
    for file, first in (("pipeline.yml", pipeline), ("policy.yml", policy)):
        assert first.startswith(_expected(file, line, column, path)), first
        assert says in first, first


def test_a_duplicate_policies_key_no_longer_drops_rules(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "policies:\n  - rule: non-root\npolicies:\n  - rule: max-size\n    max: 1GB\n"
    )
    first = _first(run_in_process(["check", "--policy", str(policy), "localhost:1/x:y"]))
    assert (
        first
        == f"error: {policy}:3:1: policies: duplicate key 'policies' (first defined at line 1)"
    )


def test_a_custom_schema_file_is_read_by_the_same_loader(tmp_path: Path) -> None:
    (tmp_path / "facts.schema.yml").write_text("type: object\ntype: array\n")
    (tmp_path / "policy.yml").write_text(
        "policies:\n  - rule: schema\n    schema: facts.schema.yml\n"
    )
    (tmp_path / "facts.json").write_text("{}")
    outcome = run_in_process(
        ["check", "--policy", str(tmp_path / "policy.yml"), "--facts", str(tmp_path / "facts.json")]
    )
    first = _first(outcome)
    assert first.startswith(
        f"error: {tmp_path / 'facts.schema.yml'}:2:1: type: duplicate key 'type'"
    ), first


@pytest.mark.parametrize("command", [["validate", "-f"], ["check", "--policy"]])
def test_a_file_past_the_cap_is_refused_before_parsing(tmp_path: Path, command: list[str]) -> None:
    big = tmp_path / "big.yml"
    big.write_text("#" * MAX_FILE_BYTES + "\n")
    extra = ["localhost:1/x:y"] if command[0] == "check" else []
    first = _first(run_in_process([*command, str(big), *extra]))
    assert f"limited to {MAX_FILE_BYTES} bytes" in first


@pytest.mark.parametrize("command", [["validate", "-f"], ["check", "--policy"]])
def test_dev_zero_is_not_read(command: list[str]) -> None:
    extra = ["localhost:1/x:y"] if command[0] == "check" else []
    first = _first(run_in_process([*command, "/dev/zero", *extra]))
    assert first == "error: /dev/zero: is not a regular file"


_EXAMPLES = sorted(ROOT.glob("examples/*/pipeline.yml"))
_LOCATED = re.compile(r"^error: [^:]+:\d+(:\d+)?: ")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    example=st.sampled_from(_EXAMPLES),
    at=st.floats(min_value=0, max_value=1),
    insert=st.sampled_from(
        [
            "\n? [a]\n: 1\n",
            "\n  - &x 1\n",
            " *x",
            " !!binary AAAA",
            "\n\t",
            "\x00",
            "\ufeff",
            ": :",
            "[",
            "}",
            "\n" + "- " * 70 + "x\n",
            " 1" + "0" * 4400,
            " 1.0e+999",
            "\nversion: 9\n",
            " '",
            ' "\\u',
            "\n%YAML 1.1\n",
            "\n---\n",
            "\n...\n",
        ]
    ),
)
def test_mutated_examples_fail_at_a_location_or_pass(
    tmp_path: Path, example: Path, at: float, insert: str
) -> None:
    folder = tmp_path / "copy"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(example.parent, folder)
    text = example.read_text()
    cut = int(len(text) * at)
    (folder / "pipeline.yml").write_text(text[:cut] + insert + text[cut:])
    outcome = run_in_process(["validate", "-f", str(folder / "pipeline.yml")])
    assert "internal error" not in outcome.stderr and "Traceback" not in outcome.stderr
    assert outcome.code in (0, 2), outcome
    if outcome.code == 2:
        assert _LOCATED.match(outcome.first_error_line), outcome.first_error_line


_POLICY = (
    "policies:\n"
    "  - rule: non-root\n"
    "  - rule: required-labels\n"
    "    labels: [org.opencontainers.image.source]\n"
    "  - rule: max-size\n"
    "    max: 1GB\n"
    "    mode: warn\n"
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(at=st.floats(min_value=0, max_value=1), insert=st.text(max_size=12))
def test_mutated_policy_files_fail_at_a_location_or_load(
    tmp_path: Path, at: float, insert: str
) -> None:
    cut = int(len(_POLICY) * at)
    policy = tmp_path / "policy.yml"
    policy.write_bytes((_POLICY[:cut] + insert + _POLICY[cut:]).encode("utf-8", "surrogatepass"))
    outcome = run_in_process(
        ["check", "--policy", str(policy), "--facts", str(tmp_path / "none.json")]
    )
    assert "internal error" not in outcome.stderr and "Traceback" not in outcome.stderr
    if outcome.code == 2 and str(policy) in outcome.first_error_line:
        assert re.match(r"^error: [^:]+:\d+(:\d+)?: ", outcome.first_error_line), (
            outcome.first_error_line
        )
