"""``validate`` checks what the file will produce, and tags on the command line follow the same grammar.

A tag rule that can only yield an invalid tag, a ``when`` glob with an
unclosed '[', a port outside 1-65535, a tag with a trailing newline: each is
exit 2 at its line. ``promoter copy SRC DST:tâg`` fails before any request.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from promoter.errors import InputError
from promoter.oci import Digest
from promoter.oci.reference import parse_registry_reference
from tests.config.cli_runner import ROOT, run_in_process

QUICKSTART = ROOT / "examples" / "quickstart"


@pytest.mark.parametrize(
    ("old", "new", "where", "says"),
    [
        (
            "- type=sha\n",
            "- type=raw,value=-abc\n",
            "images.hello.tags[3]",
            "yields the tag '-abc'",
        ),
        ("- type=sha\n", "- type=raw,value=tâg\n", "images.hello.tags[3]", "yields the tag 'tâg'"),
        (
            "- type=sha\n",
            "- type=raw,value=v1,suffix=/x\n",
            "images.hello.tags[3]",
            "yields the tag 'v1/x'",
        ),
        (
            "when: branch:main",
            'when: "branch:[main"',
            "images.hello.promote[1].when",
            "unclosed '['",
        ),
        (
            "host: 127.0.0.1:5001",
            "host: 127.0.0.1:70000",
            "registries.prod-a.host",
            "port 70000 is outside 1-65535",
        ),
        (
            "host: 127.0.0.1:5001",
            "host: 127.0.0.1:0",
            "registries.prod-a.host",
            "port 0 is outside 1-65535",
        ),
        (
            "tags: [edge]",
            'tags: ["edge\\n"]',
            "images.hello.promote[1].tags[0]",
            "'edge\\n' is not a valid tag",
        ),
        (
            "tags: [edge]",
            'tags: ["' + "e" * 129 + '"]',
            "images.hello.promote[1].tags[0]",
            "is not a valid tag",
        ),
    ],
    ids=[
        "raw-dash",
        "raw-non-ascii",
        "raw-slash",
        "glob",
        "port-high",
        "port-zero",
        "tag-newline",
        "tag-long",
    ],
)
def test_validate_refuses_what_cannot_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, where: str, says: str
) -> None:
    shutil.copytree(QUICKSTART, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    text = (QUICKSTART / "pipeline.yml").read_text()
    assert old in text
    (tmp_path / "pipeline.yml").write_text(text.replace(old, new, 1))
    outcome = run_in_process(["validate"])
    assert outcome.code == 2, outcome
    first = outcome.first_error_line
    assert first.startswith("error: pipeline.yml:") and f": {where}: " in first, first
    assert says in first, first


def test_the_untouched_example_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(QUICKSTART, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    assert run_in_process(["validate"]).code == 0


@pytest.mark.parametrize(
    "destination", ["127.0.0.1:9/c:tâg", "127.0.0.1:9/c:" + "x" * 129, "127.0.0.1:9/ç:t"]
)
def test_copy_refuses_a_bad_tag_before_any_request(destination: str) -> None:
    # Port 9 (discard): any request would be exit 3; a refused reference is exit 2.
    outcome = run_in_process(["copy", "127.0.0.1:9/a:b", destination])
    assert outcome.code == 2, outcome
    assert "invalid reference" in outcome.first_error_line


@pytest.mark.parametrize("text", ["h:1/c:t\u00e2g", "h:1/c:-t", "h:1/c:" + "x" * 129])
def test_reference_grammar_is_ascii(text: str) -> None:
    with pytest.raises(InputError):
        parse_registry_reference(text)


def test_a_digest_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(InputError):
        Digest.parse("sha256:" + "a" * 64 + "\n")
