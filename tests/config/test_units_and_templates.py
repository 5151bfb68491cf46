"""Sizes, durations, template variables and tag rule strings."""

from __future__ import annotations

import pytest

from promoter.config.tagrules import parse_tag_rule, tag_rule_issues
from promoter.config.templates import template_issues
from promoter.units import UnitError, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("500MiB", 500 * 1024**2),
        ("500MB", 500 * 1000**2),
        ("1.5GiB", int(1.5 * 1024**3)),
        ("10 KiB", 10 * 1024),
        ("10kB", 10_000),
        ("7B", 7),
        ("2TB", 2 * 1000**4),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("500", "no unit; write 500MiB (1024-based) or 500MB"),
        (500, "no unit"),
        ("500M", "ambiguous; write 500MiB (1024-based) or 500MB (1000-based)"),
        ("5k", "ambiguous; write 5KiB (1024-based) or 5kB (1000-based)"),
        ("5 mib", "unknown size unit 'mib'"),
        ("big", "not a size"),
        (True, "a size is a string"),
        ("-5MB", "not a size"),
    ],
)
def test_bad_sizes(text: object, says: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_size(text)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("12h", 43200), ("30d", 2592000), ("2w", 1209600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", 30, "30 days", "soon", None])
def test_bad_durations(text: object) -> None:
    with pytest.raises(UnitError):
        parse_duration(text)


@pytest.mark.parametrize(
    "text",
    [
        "{{version}}",
        "{{ version }}",
        "v{{major}}.{{minor}}.{{patch}}",
        "{{raw}}",
        "{{branch}}-{{sha}}",
        "{{tag}}",
        "{{base_ref}}",
        "{{is_default_branch}}",
        "{{is_not_default_branch}}",
        "nightly-{{date 'YYYYMMDD'}}",
        "{{date 'YYYYMMDD-HHmmss' tz='Asia/Tokyo'}}",
        '{{commit_date "YYYY-MM-DD" tz="UTC"}}',
        "plain",
        "",
    ],
)
def test_known_templates(text: str) -> None:
    assert list(template_issues(text)) == []


@pytest.mark.parametrize(
    ("text", "says", "hint"),
    [
        ("{{verison}}", "unknown template variable 'verison'", "did you mean 'version'?"),
        ("{{ brnch }}", "unknown template variable 'brnch'", "did you mean 'branch'?"),
        ("{{github.sha}}", "unknown template variable 'github.sha'", None),
        ("{{version 'x'}}", "takes no arguments", None),
        ("{{date}}", "needs a quoted format", "{{date 'YYYYMMDD'}}"),
        ("{{date 'Y' zone='UTC'}}", "needs a quoted format", None),
        ("{{version", "unclosed '{{'", None),
        ("{{}}", "is not a template variable", None),
    ],
)
def test_bad_templates(text: str, says: str, hint: str | None) -> None:
    issues = list(template_issues(text))
    assert len(issues) == 1
    assert says in issues[0].message
    if hint:
        assert issues[0].hint is not None and hint in issues[0].hint


def test_tag_rule_parsing() -> None:
    assert parse_tag_rule("latest") == {"type": "raw", "value": "latest"}
    assert parse_tag_rule("type=semver,pattern={{major}}.{{minor}}") == {
        "type": "semver",
        "pattern": "{{major}}.{{minor}}",
    }
    assert parse_tag_rule("type=sha, format=long, prefix=") == {
        "type": "sha",
        "format": "long",
        "prefix": "",
    }


@pytest.mark.parametrize(
    "rule",
    [
        "type=ref,event=branch",
        "type=ref,event=pr",
        "type=semver,pattern={{version}}",
        "type=pep440,pattern={{major}}",
        "type=match,pattern=v(.*),group=1",
        "type=edge,branch=main",
        "type=raw,value=latest,enable={{is_default_branch}}",
        "type=sha,format=short,prefix=sha-,priority=100",
        "type=schedule,pattern={{date 'YYYYMMDD'}}",
        "stable",
    ],
)
def test_good_tag_rules(rule: str) -> None:
    assert list(tag_rule_issues(rule)) == []


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("type=semvr,pattern={{version}}", "unknown tag rule type 'semvr'"),
        ("type=ref", "type=ref needs event="),
        ("type=ref,event=push", "event=push is not valid"),
        ("type=sha,format=tiny", "format=tiny is not valid"),
        ("type=raw,value=x,enable=maybe", "enable=maybe is not valid"),
        ("type=raw,value=x,priority=high", "priority must be an integer"),
        ("type=match,pattern=v(.*),group=one", "group must be a number"),
        ("type=raw,colour=red", "unknown tag rule attribute 'colour'"),
        ("type=raw,value={{nope}}", "unknown template variable 'nope'"),
    ],
)
def test_bad_tag_rules(rule: str, says: str) -> None:
    assert any(says in issue.message for issue in tag_rule_issues(rule))


@pytest.mark.parametrize(
    "text",
    [
        "{{#if is_default_branch}}stable{{else}}dev{{/if}}",
        "{{#unless is_default_branch}}dev-{{sha}}{{/unless}}",
        "{{~ version ~}}",
        "{{#if tag}}{{#if is_default_branch}}a{{/if}}{{/if}}",
    ],
)
def test_handlebars_blocks_are_accepted(text: str) -> None:
    assert list(template_issues(text)) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{#if verison}}x{{/if}}", "unknown template variable 'verison'"),
        ("{{#if tag}}x", "'{{#if}}' is never closed"),
        ("x{{/if}}", "'{{/if}}' closes no open '{{#if}}' block"),
        ("{{#if tag}}x{{/unless}}", "'{{/unless}}' closes no open '{{#unless}}' block"),
        ("{{else}}", "'{{else}}' outside an '{{#if}}' block"),
        ("{{#each tags}}x{{/each}}", "'{{#each tags}}' is not a template block"),
    ],
)
def test_broken_handlebars_blocks(text: str, message: str) -> None:
    assert next(issue.message for issue in template_issues(text)) == message
