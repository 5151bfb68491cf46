"""Rules on what is attested about an image: provenance, vulnerabilities.

``provenance``: an in-toto Statement v1 with an SLSA Provenance v1 predicate, in a
DSSE envelope attached to the image (cosign's ``sha256-<hex>.att`` tag or an OCI
referrer), that verifies with a trusted key, names this digest as its subject, was
built from the commit being promoted, from a source repository and by a builder
matching the given globs. The git source is read as promoter writes it
(``promoter.signing.statement``/``provenance``): the resolved dependency with a
``gitCommit`` digest, its URI ``git+<url>@<ref>``; ``externalParameters.source``
when no dependency names the URL.

``vulnerabilities``: the newest vulnerability report attached to the image (see
``promoter.policy.vulnreports``) must be at most ``max_age`` old and hold at most
``max`` findings of each severity named.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from promoter.policy.attestations import statement_of
from promoter.policy.declared import PolicyRule
from promoter.policy.facts_doc import Facts
from promoter.policy.results import Outcome
from promoter.policy.rules.base import RuleContext, RuleSpec
from promoter.policy.rules.provenance import _days, _parse_timestamp
from promoter.policy.rules.signed import TrustedKey, key_names, parse_keys
from promoter.policy.vulnreports import SEVERITIES, VULN_PREDICATE
from promoter.units import parse_duration

__all__ = ["ATTESTED_RULES", "SLSA_PROVENANCE_V1", "source_of"]

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
_STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
_COMMIT_KEYS = ("gitCommit", "sha1")


@dataclass(frozen=True)
class _Provenance:
    keys: tuple[TrustedKey, ...]
    source: str
    builder: str | None


def _glob(rule: PolicyRule, key: str, *, required: bool) -> str | None:
    value = rule.options.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise rule.error(
            f"rule 'provenance' needs '{key}': a glob such as 'https://github.com/acme/*'", key=key
        )
    return value


def _parse_provenance(rule: PolicyRule, base: Path) -> _Provenance:
    keys = parse_keys(rule, base)
    return _Provenance(
        keys, str(_glob(rule, "source", required=True)), _glob(rule, "builder", required=False)
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _verified(
    envelope: Any, keys: tuple[TrustedKey, ...]
) -> tuple[Mapping[str, Any] | None, TrustedKey | None]:
    """``(the signed statement, the key that verified it)``; ``(None, None)`` when no key
    verifies the envelope, ``(None, key)`` when the signed payload is not JSON."""
    from promoter.signing.dsse import verify_envelope

    verified = verify_envelope(_mapping(envelope), [k.key for k in keys])
    if verified is None:
        return None, None
    payload, fingerprint = verified
    key = next(k for k in keys if k.fingerprint == fingerprint)
    try:
        return _mapping(json.loads(payload)), key
    except ValueError:
        return None, key


def _names_digest(statement: Mapping[str, Any], digest: str) -> bool:
    """Whether one of the statement's subjects is ``digest``."""
    algorithm, _, hexdigest = digest.partition(":")
    subjects = [_mapping(s) for s in statement.get("subject") or []]
    return any(_mapping(s.get("digest")).get(algorithm) == hexdigest for s in subjects)


def source_of(predicate: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(source URI, git commit)`` of an SLSA v1 predicate, as promoter writes them."""
    definition = _mapping(predicate.get("buildDefinition"))
    uri = commit = None
    dependencies = [_mapping(d) for d in definition.get("resolvedDependencies") or []]
    # promoter's own entry is named "source"; any git-commit entry will do otherwise.
    dependencies.sort(key=lambda d: d.get("name") != "source")
    for dependency in dependencies:
        digest = _mapping(dependency.get("digest"))
        found = next((digest[k] for k in _COMMIT_KEYS if isinstance(digest.get(k), str)), None)
        if found:
            commit, uri = found, dependency.get("uri") or None
            break
    parameters = _mapping(definition.get("externalParameters"))
    if not uri:
        workflow = _mapping(parameters.get("workflow"))  # GitHub's buildType
        uri = parameters.get("source") or workflow.get("repository") or None
    return (uri if isinstance(uri, str) else None), commit


def _spellings(uri: str) -> set[str]:
    """A source URI as written, without ``git+``, without its ``@ref``, without ``.git``."""
    names = {uri}
    bare = uri.removeprefix("git+")
    names.add(bare)
    scheme, sep, rest = bare.partition("://")
    path = rest if sep else bare
    if "@" in path.partition("/")[2]:
        bare = (scheme + sep if sep else "") + path.rpartition("@")[0]
        names.add(bare)
    names.add(bare.removesuffix(".git"))
    return names


def _same_commit(attested: str, promoted: str) -> bool:
    a, b = attested.lower(), promoted.lower()
    return len(min(a, b, key=len)) >= 7 and (a.startswith(b) or b.startswith(a))


def _judge_statement(
    statement: Mapping[str, Any], facts: Facts, settings: _Provenance, ctx: RuleContext
) -> tuple[list[str], str]:
    """The problems of one verified statement, and a description of what it says."""
    digest = str(facts.get("digest"))
    problems = []
    if not _names_digest(statement, digest):
        subjects = [_mapping(s) for s in statement.get("subject") or []]
        named = ", ".join(
            f"{k}:{v}" for s in subjects for k, v in _mapping(s.get("digest")).items()
        )
        problems.append(f"attestation for another digest ({named or 'no subject'}), not {digest}")
    predicate = _mapping(statement.get("predicate"))
    uri, commit = source_of(predicate)
    if commit is None:
        problems.append("the provenance names no git commit")
    elif ctx.commit is None:
        problems.append(
            f"commit {commit[:12]} cannot be compared: no git commit is being promoted "
            "(run in the git checkout, or pass --commit)"
        )
    elif not _same_commit(commit, ctx.commit):
        problems.append(
            f"built from another commit ({commit[:12]}), not the one promoted ({ctx.commit[:12]})"
        )
    if uri is None:
        problems.append("the provenance names no source repository")
    elif not any(fnmatch.fnmatchcase(n, settings.source) for n in _spellings(uri)):
        problems.append(f"source {uri!r} is outside the pattern {settings.source!r}")
    builder = _mapping(_mapping(predicate.get("runDetails")).get("builder")).get("id")
    if settings.builder is not None:
        if not isinstance(builder, str):
            problems.append("the provenance names no builder id")
        elif not fnmatch.fnmatchcase(builder, settings.builder):
            problems.append(f"builder id {builder!r} is outside the pattern {settings.builder!r}")
    said = f"commit {str(commit)[:12]} of {uri}, builder {builder}"
    return problems, said


def _judge(
    entry: Mapping[str, Any], facts: Facts, settings: _Provenance, ctx: RuleContext
) -> tuple[list[str], str]:
    statement, key = _verified(entry.get("envelope"), settings.keys)
    if key is None:
        return [
            f"attestation does not verify with {key_names(settings.keys)} "
            "(an untrusted key, or a tampered payload)"
        ], ""
    if statement is None:
        return ["the signed payload is not JSON"], ""
    if statement.get("predicateType") != SLSA_PROVENANCE_V1 or (
        statement.get("_type") not in _STATEMENT_TYPES
    ):
        return ["the signed payload is not an in-toto SLSA Provenance v1 statement"], ""
    problems, said = _judge_statement(statement, facts, settings, ctx)
    return problems, f"verified with {key.describe()}: {said}"


def _check_provenance(facts: Facts, settings: _Provenance, ctx: RuleContext) -> list[Outcome]:
    candidates = [
        entry
        for entry in facts.get("attestations") or []
        if isinstance(entry, Mapping)
        and isinstance(entry.get("envelope"), Mapping)
        and statement_of(entry["envelope"]).get("predicateType") == SLSA_PROVENANCE_V1
    ]
    if not candidates:
        return [
            Outcome(
                False,
                "no provenance attestation: no SLSA provenance in cosign's sha256-<hex>.att "
                "tag or in an in-toto referrer",
            )
        ]
    reasons: list[str] = []
    for entry in candidates:
        problems, said = _judge(entry, facts, settings, ctx)
        if not problems:
            return [Outcome(True, f"provenance ({entry.get('source')}) {said}")]
        reasons.extend(f"{p} ({entry.get('source')})" for p in problems)
    return [Outcome(False, "; ".join(dict.fromkeys(reasons)))]


# -- vulnerabilities --------------------------------------------------------------------


@dataclass(frozen=True)
class _Vulnerabilities:
    max: dict[str, int]
    max_age: timedelta | None
    #: With keys, only cosign vulnerability attestations that verify with one count.
    keys: tuple[TrustedKey, ...] = ()


def _parse_vulnerabilities(rule: PolicyRule, base: Path) -> _Vulnerabilities:
    limits = rule.options.get("max")
    if not isinstance(limits, Mapping) or not limits:
        raise rule.error(
            "rule 'vulnerabilities' needs 'max': counts per severity, e.g. {critical: 0, high: 5}",
            key="max",
        )
    parsed: dict[str, int] = {}
    for name, value in limits.items():
        if name not in SEVERITIES:
            raise rule.error(
                f"unknown severity {name!r}",
                key=f"max.{name}",
                hint="severities: " + ", ".join(SEVERITIES),
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise rule.error(f"must be a count (0 or more), not {value!r}", key=f"max.{name}")
        parsed[name] = value
    age = None
    if rule.options.get("max_age") is not None:
        try:
            age = timedelta(seconds=parse_duration(rule.options["max_age"]))
        except ValueError as error:
            raise rule.error(str(error), key="max_age") from None
    signed = "key" in rule.options or "keys" in rule.options
    return _Vulnerabilities(parsed, age, parse_keys(rule, base) if signed else ())


def _stamped(report: Mapping[str, Any]) -> datetime | None:
    created = report.get("created")
    return _parse_timestamp(created) if isinstance(created, str) else None


def _newest(reports: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    stamped = [(stamp, r) for r in reports if (stamp := _stamped(r)) is not None]
    if stamped:
        return max(stamped, key=lambda pair: pair[0])[1]
    return reports[0]


def _check_vulnerabilities(
    facts: Facts, settings: _Vulnerabilities, ctx: RuleContext
) -> list[Outcome]:
    entries = [r for r in facts.get("vulnerabilityReports") or [] if isinstance(r, Mapping)]
    reports = [r for r in entries if "error" not in r and isinstance(r.get("counts"), Mapping)]
    if not reports:
        unread = "; ".join(f"{r.get('digest')}: {r.get('error')}" for r in entries)
        tail = f" (unreadable: {unread})" if unread else ""
        return [
            Outcome(
                False,
                "no vulnerability report attached: no cosign vulnerability attestation, "
                f"SARIF or Trivy JSON referrer{tail}",
            )
        ]
    signer = ""
    if settings.keys:
        verified = _signed_reports(reports, facts, settings.keys)
        if not verified:
            return [
                Outcome(
                    False,
                    f"no vulnerability report verifies with {key_names(settings.keys)}: "
                    f"{len(reports)} attached, unsigned (a SARIF or Trivy referrer), signed by "
                    "another key, tampered, or for another digest",
                )
            ]
        reports = [report for report, _ in verified]
        newest = _newest(reports)
        signer = next(f", signed by {k.name}" for r, k in verified if r is newest)
    report = _newest(reports)
    what = (
        f"{report.get('format')} report ({report.get('source')}, {report.get('scanner')}{signer})"
    )
    stamp = _stamped(report)
    age = ""
    if settings.max_age is not None:
        if stamp is None:
            return [Outcome(False, f"{what} says not when it was made: its age cannot be judged")]
        if ctx.now - stamp > settings.max_age:
            return [
                Outcome(
                    False,
                    f"the newest {what} is stale: made {_days(ctx.now - stamp)} ago "
                    f"({report.get('created')}), older than {_days(settings.max_age)}",
                )
            ]
    if stamp is not None:
        age = f", made {_days(max(ctx.now - stamp, timedelta(0)))} ago"
    counts = report["counts"]
    found = {name: int(counts.get(name) or 0) for name in settings.max}
    over = [
        f"{n} {name} (max {settings.max[name]})"
        for name, n in found.items()
        if n > settings.max[name]
    ]
    if over:
        return [Outcome(False, f"too many vulnerabilities: {', '.join(over)} in the {what}{age}")]
    shown = ", ".join(f"{name} {n}/{settings.max[name]}" for name, n in found.items())
    return [Outcome(True, f"{shown} in the {what}{age}")]


def _signed_reports(
    reports: list[Mapping[str, Any]], facts: Facts, keys: tuple[TrustedKey, ...]
) -> list[tuple[Mapping[str, Any], TrustedKey]]:
    """The reports from cosign vulnerability attestations whose envelope verifies with one of
    ``keys`` and whose statement names this digest, each with the key that verified it."""
    found = []
    for report in reports:
        if not isinstance(report.get("envelope"), Mapping):
            continue
        statement, key = _verified(report["envelope"], keys)
        if (
            statement is not None
            and key is not None
            and statement.get("predicateType") == VULN_PREDICATE
            and _names_digest(statement, str(facts.get("digest")))
        ):
            found.append((report, key))
    return found


ATTESTED_RULES = (
    RuleSpec(
        "provenance",
        "A signed SLSA provenance attestation of this digest, from this commit, a source and "
        "a builder matching the globs.",
        ("key", "keys", "source", "builder"),
        _parse_provenance,
        _check_provenance,
    ),
    RuleSpec(
        "vulnerabilities",
        "The newest attached vulnerability report holds at most 'max' findings per severity, "
        "and is at most 'max_age' old; with 'key' or 'keys', only cosign vulnerability "
        "attestations signed by one of them count.",
        ("max", "max_age", "key", "keys"),
        _parse_vulnerabilities,
        _check_vulnerabilities,
    ),
)
