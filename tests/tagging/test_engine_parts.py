"""Templates, moment dates, versions, remotes and engine edges the peer cases do not reach."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from promoter.errors import InputError
from promoter.tagging import GitContext, RepositoryInfo, TagInputs, compute_metadata, public_url
from promoter.tagging.datefmt import format_moment
from promoter.tagging.templates import TemplateError, render
from promoter.tagging.versions import parse_pep440, parse_semver

NOW = datetime(2020, 1, 10, 0, 30, tzinfo=timezone.utc)
MAIN = GitContext(event_name="push", ref="refs/heads/main", sha="a" * 40)
REPO = RepositoryInfo(name="app", default_branch="main")


def meta_tags(*rules: str, context: GitContext = MAIN, flavor: tuple[str, ...] = ()) -> list[str]:
    inputs = TagInputs(tags=rules, flavor=flavor)
    return compute_metadata(inputs, context, REPO, now=NOW).tags


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{#if flag}}yes{{else}}no{{/if}}", "yes"),
        ("{{#if empty}}yes{{else}}no{{/if}}", "no"),
        ("{{#unless empty}}yes{{/unless}}", "yes"),
        ("{{#if flag}}{{#if empty}}a{{else}}b{{/if}}{{/if}}", "b"),
        ("a{{! a comment }}b{{!-- another }} --}}c", "abc"),
        ("x {{~name~}} y", "xa&amp;by"),
        ("{{{name}}}", "a&b"),
        ("{{missing}}-", "-"),
        ("{{greet 'you' punct='!'}}", "hi you!"),
    ],
)
def test_templates(template: str, expected: str) -> None:
    context = {
        "flag": True,
        "empty": "",
        "name": "a&b",
        "greet": lambda who, call: f"hi {who}{call.hash.get('punct', '')}",
    }
    assert render(template, context) == expected


@pytest.mark.parametrize(
    "template", ["{{#if x}}open", "{{/if}}", "{{nohelper 'x'}}", "{{#each x}}{{/each}}"]
)
def test_bad_templates(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, {"x": 1})


def test_if_default_branch_is_truthy_string_like_handlebars() -> None:
    # metadata-action's is_default_branch is the *string* 'false' off the default
    # branch, which Handlebars' #if treats as true: enable= is the way to gate.
    feature = GitContext(event_name="push", ref="refs/heads/feature", sha="b" * 40)
    assert meta_tags("type=raw,value={{#if is_default_branch}}dflt{{/if}}", context=feature) == [
        "dflt"
    ]
    assert meta_tags("type=raw,value=x,enable={{is_default_branch}}", context=feature) == []


@pytest.mark.parametrize(
    ("fmt", "tz", "expected"),
    [
        ("YYYY-MM-DD HH:mm:ss.SSS", "UTC", "2020-01-10 00:30:00.000"),
        ("YY M D H h A a", "UTC", "20 1 10 0 12 AM am"),
        ("MMMM MMM Do dddd ddd dd d", "UTC", "January Jan 10th Friday Fri Fr 5"),
        ("DDD DDDD Q W WW GGGG E w", "UTC", "10 010 1 2 02 2020 5 2"),
        ("[Today is] dddd [at] HH:mm Z ZZ", "Asia/Tokyo", "Today is Friday at 09:30 +09:00 +0900"),
        ("X x", "UTC", "1578616200 1578616200000"),
        ("hh:mm A z", "America/New_York", "07:30 PM EST"),
        (None, "UTC", "2020-01-10T00:30:00Z"),
        (None, "Asia/Kolkata", "2020-01-10T06:00:00+05:30"),
        ("\\YYYY [Y]YYY", "UTC", "YYYY Y202020"),
    ],
)
def test_moment_formats(fmt: str | None, tz: str, expected: str) -> None:
    assert format_moment(NOW, fmt, tz) == expected


def test_unknown_zone() -> None:
    with pytest.raises(InputError, match="unknown time zone"):
        format_moment(NOW, "YYYY", "Mars/Olympus")


def test_semver_parsing() -> None:
    parsed = parse_semver("v1.2.3-beta.4+build.5")
    assert parsed is not None
    assert (parsed.version, parsed.prerelease, parsed.build) == (
        "1.2.3-beta.4",
        ("beta", "4"),
        ("build", "5"),
    )
    for invalid in ("1.2", "01.2.3", "1.2.3-01", "release1", "1.2.3.4", "=v1.2.3"):
        assert parse_semver(invalid) is None, invalid


def test_pep440_parsing() -> None:
    parsed = parse_pep440("1!2.0.post3.dev4")
    assert parsed is not None and not parsed.is_final
    assert parsed.normalized == "1!2.0.post3.dev4" and parsed.patch == 0
    assert parse_pep440("not-a-version") is None


def test_semver_zero_major_and_build_metadata() -> None:
    tag = GitContext(event_name="push", ref="refs/tags/v0.4.1+linux", sha="c" * 40)
    assert meta_tags(
        "type=semver,pattern={{version}}", "type=semver,pattern={{major}}", context=tag
    ) == [
        "0.4.1",
        "0",
        "latest",
    ]


def test_invalid_enable_is_bad_input() -> None:
    with pytest.raises(InputError, match="neither true nor false"):
        meta_tags("type=raw,value=x,enable=yes")


def test_clock_must_be_aware() -> None:
    with pytest.raises(InputError):
        compute_metadata(TagInputs(), MAIN, REPO, now=datetime(2020, 1, 1))


def test_flavor_prefix_templates_and_latest_forced() -> None:
    # The flavor prefix is rendered for `latest` too (upstream pastes it raw).
    assert meta_tags(
        "type=raw,value=x", flavor=("latest=true", "prefix={{branch}}-,onlatest=true")
    ) == [
        "main-x",
        "main-latest",
    ]


def test_date_in_other_zone_crosses_midnight() -> None:
    late = NOW - timedelta(hours=1)
    meta = compute_metadata(
        TagInputs(tags=["type=raw,value={{date 'YYYYMMDD' tz='Pacific/Auckland'}}"]),
        MAIN,
        REPO,
        now=late,
    )
    assert meta.tags == ["20200110"]


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://user:pass@github.com/org/app.git", "https://github.com/org/app"),
        (
            "https://token@gitlab.example.com:8443/g/sub/app",
            "https://gitlab.example.com:8443/g/sub/app",
        ),
        ("http://git.local/app.git", "http://git.local/app"),
        ("ssh://git@git.example.com:2222/org/app.git", "https://git.example.com/org/app"),
        ("git@github.com:org/app.git", "https://github.com/org/app"),
        (
            "git@ssh.dev.azure.com:v3/contoso/web/shop",
            "https://dev.azure.com/contoso/web/_git/shop",
        ),
        (
            "https://contoso@dev.azure.com/contoso/web/_git/shop",
            "https://dev.azure.com/contoso/web/_git/shop",
        ),
        ("file:///srv/git/app.git", ""),
        ("/srv/git/app.git", ""),
        ("../app", ""),
        ("C:\\repos\\app", ""),
        ("", ""),
    ],
)
def test_public_url(remote: str, expected: str) -> None:
    assert public_url(remote) == expected


def test_expand_build_args_and_promotion_tags() -> None:
    from promoter.tagging import expand_template

    tag = GitContext(event_name="push", ref="refs/tags/v3.2.1", sha="d" * 40)
    meta = compute_metadata(TagInputs(tags=["type=semver,pattern={{version}}"]), tag, REPO, now=NOW)
    expand = lambda text: expand_template(text, meta, tag, REPO, now=NOW)  # noqa: E731
    assert expand("{{version}}") == "3.2.1"
    assert expand("{{major}}.{{minor}}-{{sha}}-{{raw}}") == "3.2-ddddddd-v3.2.1"
    assert expand("built {{date 'YYYY-MM-DD'}} from {{tag}}") == "built 2020-01-10 from v3.2.1"
    branch_meta = compute_metadata(TagInputs(), MAIN, REPO, now=NOW)
    assert expand_template(
        "{{version}}|{{major}}|{{branch}}", branch_meta, MAIN, REPO, now=NOW
    ) == ("main||main")
