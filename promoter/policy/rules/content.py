"""Rules on what an image carries and has attached: no-secrets, referrers, schema."""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path

from promoter.config.inputfile import read_input_text
from promoter.config.source import parse_document
from promoter.errors import ConfigError
from promoter.policy.declared import PolicyRule
from promoter.policy.imagefacts import ImageFacts, PlatformFacts
from promoter.policy.results import Verdict
from promoter.policy.rules.base import RuleContext, RuleSpec, joined, option_str_list
from promoter.policy.secrets import Finding, scan_assignment, scan_text
from promoter.structs import struct

__all__ = ["CONTENT_RULES", "find_secrets"]


def find_secrets(platform: PlatformFacts) -> list[Finding]:
    """Suspected credentials in one platform's env, labels, annotations and history."""
    findings: list[Finding] = []
    for entry in platform.env:
        name, _, value = entry.partition("=")
        findings.extend(scan_assignment(name, value, "env"))
    for where, mapping in (("label", platform.labels), ("annotation", platform.annotations)):
        for key, text in mapping.items():
            if isinstance(text, str):
                findings.extend(scan_assignment(key, text, where))
    for number, step in enumerate(platform.history):
        for text in (step.created_by, step.comment):
            if text is not None:
                findings.extend(scan_text(text, f"history[{number}]"))
    for key, parts in (("entrypoint", platform.entrypoint), ("cmd", platform.cmd)):
        for part in parts:
            findings.extend(scan_text(part, key))
    return findings


def _parse_secrets(_rule: PolicyRule, _base: Path) -> None:
    return None


def _check_secrets(facts: ImageFacts, _settings: None, _ctx: RuleContext) -> list[Verdict]:
    outcomes = []
    top = [
        finding
        for name, value in facts.annotations.items()
        if isinstance(value, str)
        for finding in scan_assignment(name, value, "index annotation")
    ]
    for p in facts.platforms:
        found = [*top, *find_secrets(p)]
        unique = list(dict.fromkeys(found))
        if unique:
            shown = "; ".join(f.describe() for f in unique[:10])
            more = f" (and {len(unique) - 10} more)" if len(unique) > 10 else ""
            outcomes.append(Verdict(False, shown + more, p.platform))
        else:
            outcomes.append(Verdict(True, "no credentials in env, labels or history", p.platform))
    return outcomes


def _parse_referrers(rule: PolicyRule, _base: Path) -> tuple[str, ...]:
    types = option_str_list(rule, "artifact_types", required=True)
    if not types:
        raise rule.error("name at least one artifact type", key="artifact_types")
    return tuple(types)


def _check_referrers(
    facts: ImageFacts, wanted: tuple[str, ...], _ctx: RuleContext
) -> list[Verdict]:
    attached = list(facts.referrer_types)
    outcomes = []
    for pattern in wanted:
        hits = [a for a in attached if fnmatch.fnmatchcase(a, pattern)]
        if hits:
            outcomes.append(Verdict(True, f"{len(hits)} {pattern} artifact(s) attached"))
        else:
            has = joined(sorted(set(attached))) or "none"
            outcomes.append(Verdict(False, f"no {pattern} artifact attached (attached: {has})"))
    return outcomes


@struct(frozen=True)
class _Schema:
    schema: dict[str, object]
    source: str


def _parse_schema(rule: PolicyRule, base: Path) -> _Schema:
    import jsonschema

    value = rule.options.get("schema")
    if isinstance(value, dict):
        schema, source = value, "inline schema"
    elif isinstance(value, (str, os.PathLike)) and str(value):
        path = base / value
        try:
            text = read_input_text(str(path), what="JSON Schema file")
        except ConfigError as error:
            raise rule.error(f"cannot read schema {value}: {error.reason}", key="schema") from None
        if path.suffix == ".json":
            try:
                schema = json.loads(text)
            except ValueError as error:
                raise rule.error(
                    f"schema {value} is not valid JSON: {error}", key="schema"
                ) from None
        else:
            schema = parse_document(str(path), text, what="JSON Schema file").data
        source = str(value)
    else:
        raise rule.error("rule 'schema' needs 'schema': a file or an inline mapping", key="schema")
    if not isinstance(schema, dict):
        raise rule.error("a JSON Schema must be a mapping", key="schema")
    validator = jsonschema.validators.validator_for(schema)
    try:
        validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        raise rule.error(f"not a valid JSON Schema: {error.message}", key="schema") from None
    return _Schema(schema, source)


def _check_schema(facts: ImageFacts, settings: _Schema, _ctx: RuleContext) -> list[Verdict]:
    import jsonschema

    validator = jsonschema.validators.validator_for(settings.schema)(settings.schema)
    errors = sorted(validator.iter_errors(facts.document), key=lambda e: list(e.absolute_path))
    if not errors:
        return [Verdict(True, f"facts match {settings.source}")]
    shown = []
    for error in errors[:5]:
        where = "/".join(str(part) for part in error.absolute_path) or "(document)"
        shown.append(f"at {where}: {error.message[:200]}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return [Verdict(False, f"facts do not match {settings.source}: " + "; ".join(shown) + more)]


CONTENT_RULES = (
    RuleSpec(
        "no-secrets",
        "No credentials in environment variables, labels or history commands.",
        (),
        _parse_secrets,
        _check_secrets,
    ),
    RuleSpec(
        "referrers",
        "Artifacts of these types (SBOM, provenance, ...) must be attached to the image.",
        ("artifact_types",),
        _parse_referrers,
        _check_referrers,
    ),
    RuleSpec(
        "schema",
        "A user's JSON Schema must accept the image facts document.",
        ("schema",),
        _parse_schema,
        _check_schema,
    ),
)
