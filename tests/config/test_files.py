"""Files that are not pipeline files at all: missing, a directory, a device, huge, bombs.

Each exits 2 with one clear line and no traceback, and promptly: nothing is
read past the size cap and nothing waits on a device or a pipe.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from promoter.config.source import MAX_FILE_BYTES
from promoter.config.yamlnodes import BYTES_PER_NODE, MAX_NODES
from tests.config.cli_runner import CliResult, run_in_process, run_subprocess


def _bad(outcome: CliResult) -> str:
    assert outcome.code == 2, outcome
    assert "Traceback" not in outcome.stderr
    assert outcome.stdout == ""
    return outcome.first_error_line


def test_missing_file(project: Path) -> None:
    first = _bad(run_subprocess(["validate", "-f", "nope.yml"], cwd=project))
    assert first == "error: nope.yml: no such file (pass the pipeline file with -f)"


def test_default_file_missing(project: Path) -> None:
    first = _bad(run_subprocess(["validate"], cwd=project))
    assert first.startswith("error: pipeline.yml: no such file")


def test_directory(project: Path) -> None:
    first = _bad(run_in_process(["validate", "-f", "app"]))
    assert first == "error: app: is a directory, not a pipeline file"


def test_fifo_is_refused_without_blocking(project: Path) -> None:
    os.mkfifo(project / "pipe.yml")
    first = _bad(run_subprocess(["validate", "-f", "pipe.yml"], cwd=project))
    assert first == "error: pipe.yml: is not a regular file"


def test_endless_device_is_refused(project: Path) -> None:
    first = _bad(run_in_process(["validate", "-f", "/dev/zero"]))
    assert first == "error: /dev/zero: is not a regular file"


def test_fifty_megabytes_is_refused_before_parsing(project: Path) -> None:
    big = project / "big.yml"
    with open(big, "w") as stream:
        line = "key: " + "x" * 95 + "\n"
        for _ in range(50 * 1024 * 1024 // len(line) + 1):
            stream.write(line)
    assert big.stat().st_size >= 50 * 1024 * 1024
    started = time.monotonic()
    first = _bad(run_subprocess(["validate", "-f", "big.yml"], cwd=project))
    assert time.monotonic() - started < 10
    assert first.startswith("error: big.yml: file is ")
    assert f"limited to {MAX_FILE_BYTES} bytes" in first


def test_just_over_the_cap_is_refused(project: Path) -> None:
    (project / "edge.yml").write_text("#" * MAX_FILE_BYTES + "\n")
    first = _bad(run_in_process(["validate", "-f", "edge.yml"]))
    assert "limited to" in first


def test_billion_laughs_is_refused(project: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 10):
        previous, name = chr(ord("a") + index - 1), chr(ord("a") + index)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    (project / "bomb.yml").write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    first = _bad(run_subprocess(["validate", "-f", "bomb.yml"], cwd=project))
    assert time.monotonic() - started < 10
    assert first == "error: bomb.yml:2:8: b[0]: YAML aliases (*name) are not supported"


def test_node_count_is_capped(project: Path) -> None:
    (project / "wide.yml").write_text("items: [" + "0," * (MAX_NODES + 10) + "0]\n")
    first = _bad(run_in_process(["validate", "-f", "wide.yml"]))
    assert f"more than {MAX_NODES} YAML nodes" in first


def test_a_pipeline_of_thousands_of_images_is_not_refused_for_its_size(project: Path) -> None:
    lines = ["version: 1", "registries:"]
    lines += [
        f"  {alias}:\n    host: 127.0.0.1:500{n}" for n, alias in enumerate(["staging", "prod"])
    ]
    lines += ["images:"]
    for n in range(3000):
        lines += [
            f"  svc{n}:",
            "    build:",
            "      context: app",
            '    tags: ["type=raw,value=rc"]',
            f"    staging: staging/svc{n}",
            "    promote:",
            f"      - to: [prod/svc{n}]",
            "        tags: [v1, stable]",
        ]
    text = "\n".join(lines) + "\n"
    (project / "many.yml").write_text(text)
    nodes = sum(1 for _ in _walk(yaml.compose(text)))
    assert nodes > 3 * MAX_NODES  # far past the flat cap, within the per-byte budget
    outcome = run_in_process(["validate", "-f", "many.yml"])
    assert outcome.code == 0, outcome
    assert outcome.stdout.strip() == "many.yml: valid (3000 image(s), 2 registries, 0 policies)"


def test_the_node_budget_of_a_large_dense_file_grows_with_its_size_and_stays_bounded(
    project: Path,
) -> None:
    # 3 MiB of "0," is 1.5 million nodes: refused at one per BYTES_PER_NODE bytes, ~500,000.
    text = "items: [" + "0," * (3 * 1024 * 1024 // 2) + "0]\n"
    (project / "dense.yml").write_text(text)
    started = time.monotonic()
    first = _bad(run_subprocess(["validate", "-f", "dense.yml"], cwd=project))
    assert time.monotonic() - started < 30
    assert f"more than {len(text) // BYTES_PER_NODE} YAML nodes" in first
    assert first.startswith("error: dense.yml:1:")


def _walk(node: yaml.Node) -> Iterator[yaml.Node]:
    yield node
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _walk(key)
            yield from _walk(value)


@pytest.mark.parametrize(
    "payload",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xfe\x00\x00garbage", os.urandom(4096)],
    ids=["png", "bom-ish", "random"],
)
def test_binary_garbage(project: Path, payload: bytes) -> None:
    (project / "garbage.yml").write_bytes(payload)
    first = _bad(run_in_process(["validate", "-f", "garbage.yml"]))
    assert first.startswith("error: garbage.yml:")


def test_error_as_json_document(project: Path) -> None:
    (project / "pipeline.yml").write_text("version: 1\nregistries: {}\nimages: {}\n")
    outcome = run_subprocess(["validate", "--output", "json"], cwd=project)
    assert outcome.code == 2
    document = json.loads(outcome.stdout)
    assert document["ok"] is False
    assert document["exitCode"] == 2
    error = document["error"]
    assert error["type"] == "ConfigError"
    assert (error["file"], error["line"], error["column"], error["path"]) == (
        "pipeline.yml",
        2,
        13,
        "registries",
    )
    # Every further problem is in the detail, one located line each.
    assert error["detail"] == "pipeline.yml:3:9: images: must not be empty"


def test_every_problem_is_listed(project: Path) -> None:
    (project / "pipeline.yml").write_text(
        "version: 1\nregistries: {s: {host: h}}\nimages:\n  a: {build: {}, staging: x/a}\n"
        "  b: {build: {}, staging: y/b}\n"
    )
    outcome = run_in_process(["validate"])
    assert outcome.code == 2
    lines = outcome.stderr.splitlines()
    # No Dockerfile in the default context ".": pointed at the build mapping.
    assert lines[0].startswith("error: pipeline.yml:4:14: images.a.build: Dockerfile 'Dockerfile'")
    assert any(line.startswith("pipeline.yml:4:") and "alias 'x'" in line for line in lines[1:])
    assert any(
        line.startswith("pipeline.yml:5:") and "registry alias 'y'" in line for line in lines[1:]
    )


@pytest.fixture(params=["libyaml", "pure-python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's parser (when present) and with PyYAML's own."""
    import yaml

    if request.param == "pure-python":
        monkeypatch.setattr(yaml, "__with_libyaml__", False)
    elif not yaml.__with_libyaml__:
        pytest.skip("this PyYAML has no libyaml")
    return str(request.param)


def test_both_parsers_give_the_same_document(parser: str) -> None:
    from promoter.config.source import read_document
    from tests.config.cli_runner import ROOT

    doc = read_document(ROOT / "examples" / "acr" / "pipeline.yml")
    assert doc.data["images"]["shop"]["staging"] == "staging/shop/web"
    assert doc.key_mark(("images", "shop")).line == 22
    assert doc.mark(("policies", 6, "key")).line == 62
    assert doc.mark(("policies", 6, "key")).column == 10


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a: &x [1]\nb: *x\n", ["bomb.yml:2:4: b: YAML aliases (*name) are not supported"]),
        # libyaml's own depth limit may trip first: either way one located line.
        ("a: " + "[" * 2000 + "\n", ["bomb.yml:1:", "nesting"]),
        ("a: [" + "1," * (MAX_NODES + 5) + "1]\n", [f"more than {MAX_NODES} YAML nodes"]),
    ],
    ids=["alias", "deep", "wide"],
)
def test_both_parsers_refuse_bombs_fast(
    project: Path, parser: str, text: str, says: list[str]
) -> None:
    (project / "bomb.yml").write_text(text)
    started = time.monotonic()
    first = _bad(run_in_process(["validate", "-f", "bomb.yml"]))
    assert time.monotonic() - started < 10
    assert all(part in first for part in says), first
