"""Properties of the engine over generated inputs (hypothesis)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from promoter.tagging import GitContext, RepositoryInfo, TagInputs, compute_metadata, sanitize_tag
from promoter.tagging.templates import render

NOW = datetime(2020, 1, 10, 0, 30, tzinfo=timezone.utc)
TAG_CHARS = re.compile(r"[a-zA-Z0-9._-]*")
branch_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda name: "{{" not in name)


@given(st.text(max_size=80))
def test_sanitized_tags_hold_only_tag_characters(text: str) -> None:
    cleaned = sanitize_tag(text)
    assert TAG_CHARS.fullmatch(cleaned)
    assert sanitize_tag(cleaned) == cleaned


@given(branch_names)
def test_branch_rule_yields_the_sanitized_branch(branch: str) -> None:
    context = GitContext(event_name="push", ref=f"refs/heads/{branch}", sha="a" * 40)
    meta = compute_metadata(
        TagInputs(images=["Reg.Example/App"], tags=["type=ref,event=branch"]),
        context,
        RepositoryInfo(default_branch="main"),
        now=NOW,
    )
    assert meta.tags == [f"reg.example/app:{sanitize_tag(branch)}"]
    assert meta.version.latest is False


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=60))
def test_text_without_mustaches_renders_unchanged(text: str) -> None:
    assert render(text, {}) == text


@given(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999))
def test_final_semver_tags_and_latest(major: int, minor: int, patch: int) -> None:
    context = GitContext(event_name="push", ref=f"refs/tags/v{major}.{minor}.{patch}", sha="b" * 40)
    meta = compute_metadata(
        TagInputs(
            tags=[
                "type=semver,pattern={{version}}",
                "type=semver,pattern={{major}}.{{minor}}",
                "type=semver,pattern={{major}}",
            ]
        ),
        context,
        RepositoryInfo(),
        now=NOW,
    )
    assert meta.tag_names == [f"{major}.{minor}.{patch}", f"{major}.{minor}", f"{major}", "latest"]
