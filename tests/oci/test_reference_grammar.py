"""The reference grammar's checks (string methods) against distribution's own patterns.

``promoter.oci.reference`` and ``promoter.oci.digest`` check tags, hosts, path
components and digests without compiling a pattern at start-up (issue #24). Each
check must accept exactly what the pattern it replaced accepts: strings the
pattern generates, and strings of the characters that matter, nearly valid ones
included (hyphens at the ends, empty labels, a port without digits, a newline
after a valid value, non-ASCII letters and digits).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoter.oci import digest, reference

_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
#: distribution's patterns, as promoter compiled them before (``\Z``: nothing after).
PATTERNS: dict[str, str] = {
    "tag": r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
    "domain": rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?",
    "path component": r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*",
    "digest": r"(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})",
}
CHECKS: dict[str, Callable[[str], bool]] = {
    "tag": reference._is_tag,
    "domain": reference._is_domain,
    "path component": reference._is_path_component,
    "digest": digest.is_digest,
}
#: The characters the grammar turns on, and some it must refuse.
ALPHABETS: dict[str, str] = {
    "tag": "aZ9_.-:/ \n\u00e9\u0661",
    "domain": "aZ9-.:[]fF \n\u00e9\u0661",
    "path component": "az9._-A \n\u00e9",
    "digest": "sha25612:af09AF \n",
}


#: The longest string tried against each pattern: distribution's path component
#: pattern backtracks exponentially on a long string it refuses (see the last test).
LONGEST = {"tag": 140, "domain": 140, "path component": 14, "digest": 140}


def _strings(kind: str) -> st.SearchStrategy[str]:
    pattern, longest = PATTERNS[kind], LONGEST[kind]
    valid = st.from_regex(pattern, fullmatch=True).map(lambda s: s[: longest - 1])
    return st.one_of(
        valid,
        valid.map(lambda s: s + "\n"),
        st.text(alphabet=ALPHABETS[kind], max_size=min(12, longest)),
        st.text(alphabet=ALPHABETS[kind], min_size=longest // 2, max_size=longest),
    )


@pytest.mark.parametrize("kind", sorted(PATTERNS))
def test_each_check_accepts_exactly_what_its_pattern_accepts(kind: str) -> None:
    compiled = re.compile(PATTERNS[kind])

    @settings(max_examples=500, deadline=None)
    @given(_strings(kind))
    def agrees(text: str) -> None:
        assert CHECKS[kind](text) == (compiled.fullmatch(text) is not None), repr(text)

    agrees()


@pytest.mark.parametrize(
    ("kind", "text", "valid"),
    [
        ("tag", "v1.2.3-rc_1", True), ("tag", "x" * 128, True), ("tag", "x" * 129, False),
        ("tag", ".hidden", False), ("tag", "-dash", False), ("tag", "v1\n", False),
        ("domain", "localhost:5000", True), ("domain", "[::1]:5000", True),
        ("domain", "a-b.example.com", True), ("domain", "-a.com", False), ("domain", "a-.com", False),
        ("domain", "a..b", False), ("domain", "host:", False), ("domain", "[]", False),
        ("domain", "[::1]x", False), ("domain", "host:50:00", False), ("domain", "h\u00e9", False),
        ("path component", "a__b", True), ("path component", "a---b", True),
        ("path component", "a___b", False), ("path component", "a-.b", False),
        ("path component", "A", False), ("path component", "a_", False),
        ("digest", "sha256:" + "a" * 64, True), ("digest", "sha512:" + "0" * 128, True),
        ("digest", "sha256:" + "A" * 64, False), ("digest", "sha256:" + "a" * 63, False),
        ("digest", "sha384:" + "a" * 96, False), ("digest", "sha256:" + "a" * 64 + "\n", False),
    ],
)  # fmt: skip
def test_the_edges_of_each_check(kind: str, text: str, valid: bool) -> None:
    assert CHECKS[kind](text) is valid
    assert (re.fullmatch(PATTERNS[kind], text) is not None) is valid


def test_a_long_name_that_does_not_parse_is_refused_at_once() -> None:
    # distribution's path component pattern took 5 s to refuse 26 letters and a "!", and
    # four times as long for each two letters more: an image's base-name annotation (the
    # provenance rule parses it) could hold the job that promotes for days.
    script = (
        "from promoter.errors import InputError\n"
        "from promoter.oci.reference import parse_registry_reference\n"
        "for name in ('x.io/' + 'a' * 64 + '!', 'x.io/a' + '-' * 5000 + '!', 'a' * 10_000 + '!'):\n"
        "    try:\n"
        "        parse_registry_reference(name)\n"
        "    except InputError as refused:\n"
        "        print(refused.message[:20])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("invalid reference") == 3
