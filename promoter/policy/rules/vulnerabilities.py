"""The ``vulnerabilities`` rule: the newest vulnerability report attached to the image (see
``promoter.policy.vulnreports``) must be at most ``max_age`` old and hold at most ``max``
findings of each severity named; with ``key``/``keys``, only cosign vulnerability
attestations signed by one of them count, and their findings are read again out of the
verified statement (never from the facts' summary, which a facts file could change).

The rule fails closed: a report that does not parse as the format it claims, a summary
whose counts are not counts, a time that is not a timestamp, a report dated more than
:data:`CLOCK_SKEW` in the future, an attestation whose statement cannot be read (another
payload type, a payload that is not strict JSON) - each fails the rule, naming the
report and the field; none is ever taken as zero findings or skipped for an older
report. With keys, only what a trusted key signed can fail it so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from promoter.policy.attestations import stored_envelope
from promoter.policy.declared import PolicyRule
from promoter.policy.imagefacts import ImageFacts
from promoter.policy.results import Verdict
from promoter.policy.rules.attested import (
    names_digest,
    unreadable_attestations,
    verified_statement,
)
from promoter.policy.rules.base import RuleContext, RuleSpec
from promoter.policy.rules.provenance import _days, _parse_timestamp
from promoter.policy.rules.signed import TrustedKey, key_names, parse_keys
from promoter.policy.vulnreports import SEVERITIES, VULN_PREDICATE, summarize_report
from promoter.units import parse_duration

__all__ = ["CLOCK_SKEW", "VULNERABILITIES_RULE"]

#: How far ahead of this machine's clock a report's time may be (the scanner's clock).
CLOCK_SKEW = timedelta(minutes=5)


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


def _describe(entry: Mapping[str, object], what: str = "report") -> str:
    """``the trivy report sha256:0123456789ab (referrers)`` for messages."""
    kind = entry.get("format")
    named = f"{kind} {what}" if isinstance(kind, str) and kind != "unknown" else what
    return f"the {named} {str(entry.get('digest'))[:19]} ({entry.get('source')})"


def _counts_problem(counts: object) -> str | None:
    if not isinstance(counts, Mapping) or not counts:
        return "its summary holds no counts per severity"
    for name, value in counts.items():
        if name not in SEVERITIES:
            return f"its counts name an unknown severity {str(name)[:40]!r}"
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"its count of {name} findings is not a count: {str(value)[:40]!r}"
    return None


def _report_problem(report: Mapping[str, object], now: datetime) -> str | None:
    """Why a summarised report cannot be judged, or None."""
    if report.get("error"):
        return f"{report['error']}; it is not counted as 0 findings"
    problem = _counts_problem(report.get("counts"))
    if problem is not None:
        return problem
    created = report.get("created")
    if created is None:
        return None
    stamp = _parse_timestamp(created) if isinstance(created, str) else None
    if stamp is None:
        return f"its time {str(created)[:40]!r} is not an RFC 3339 timestamp"
    if stamp > now + CLOCK_SKEW:
        return (
            f"it is dated in the future ({created}), more than the "
            f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes of clock skew allowed "
            f"ahead of now ({now.strftime('%Y-%m-%dT%H:%M:%SZ')})"
        )
    return None


def _unsigned_reports(
    facts: ImageFacts, now: datetime
) -> tuple[list[Mapping[str, object]], list[str]]:
    """``(the reports that can be judged, the problems of those that cannot)``."""
    reports, problems = [], []
    for entry in facts.section("vulnerabilityReports"):
        if not isinstance(entry, Mapping):
            continue
        problem = _report_problem(entry, now)
        if problem is None:
            reports.append(entry)
        else:
            problems.append(f"{_describe(entry)}: {problem}")
    # An attestation whose statement cannot be read may be a report: it is not skipped.
    for entry, problem in unreadable_attestations(facts):
        if isinstance(entry.get("envelope"), Mapping):
            problems.append(f"{_describe(entry, 'attestation')}: {problem}")
    return reports, problems


def _signed_report(
    entry: Mapping[str, object], facts: ImageFacts, keys: tuple[TrustedKey, ...], now: datetime
) -> tuple[Mapping[str, object] | None, TrustedKey | None, str]:
    """``(the report as the verified statement says, the key, "")``; ``(None, None, why)``
    when it does not count (not signed by a trusted key, about another digest); ``(None,
    key, why)`` when a trusted key signed what cannot be judged."""
    statement, key, problem = verified_statement(stored_envelope(entry.get("envelope")), keys)
    if key is None:
        return None, None, problem
    if statement is None:
        return None, key, problem
    if statement.get("predicateType") != VULN_PREDICATE:
        return None, None, "not a cosign vulnerability attestation"
    if not names_digest(statement, facts.digest):
        return None, None, "for another digest"
    kept = {k: v for k, v in entry.items() if k in ("source", "digest", "manifest", "envelope")}
    summary = summarize_report(statement, _registry_time(entry), "cosign-vuln")
    report = {**kept, **summary}
    problem = _report_problem(report, now) or ""
    return (None, key, problem) if problem else (report, key, "")


def _registry_time(entry: Mapping[str, object]) -> str | None:
    created = entry.get("created")
    return created if isinstance(created, str) else None


def _signed_reports(
    facts: ImageFacts, keys: tuple[TrustedKey, ...], now: datetime
) -> tuple[list[tuple[Mapping[str, object], TrustedKey]], list[str], list[str]]:
    """``(verified reports with their key, problems of what a trusted key signed, why the
    rest do not count)``."""
    found, problems, skipped = [], [], []
    entries = facts.section("vulnerabilityReports")
    unread = [
        e for e, _ in unreadable_attestations(facts) if isinstance(e.get("envelope"), Mapping)
    ]
    for entry in [*entries, *unread]:
        if not isinstance(entry.get("envelope"), Mapping):
            skipped.append(f"{_describe(entry)}: unsigned")
            continue
        report, key, problem = _signed_report(entry, facts, keys, now)
        if report is not None and key is not None:
            found.append((report, key))
        elif key is not None:
            problems.append(f"{_describe(entry)} signed by {key.name}: {problem}")
        else:
            skipped.append(f"{_describe(entry)}: {problem}")
    return found, problems, skipped


def _stamped(report: Mapping[str, object]) -> datetime | None:
    created = report.get("created")
    return _parse_timestamp(created) if isinstance(created, str) else None


def _newest(reports: list[Mapping[str, object]]) -> Mapping[str, object]:
    stamped = [(stamp, r) for r in reports if (stamp := _stamped(r)) is not None]
    if stamped:
        return max(stamped, key=lambda pair: pair[0])[1]
    return reports[0]


def _judge(
    report: Mapping[str, Any], settings: _Vulnerabilities, ctx: RuleContext, signer: str
) -> Verdict:
    what = (
        f"{report.get('format')} report ({report.get('source')}, {report.get('scanner')}{signer})"
    )
    stamp = _stamped(report)
    age = ""
    if settings.max_age is not None:
        if stamp is None:
            return Verdict(False, f"{what} says not when it was made: its age cannot be judged")
        if ctx.now - stamp > settings.max_age:
            return Verdict(
                False,
                f"the newest {what} is stale: made {_days(ctx.now - stamp)} ago "
                f"({report.get('created')}), older than {_days(settings.max_age)}",
            )
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
        return Verdict(False, f"too many vulnerabilities: {', '.join(over)} in the {what}{age}")
    shown = ", ".join(f"{name} {n}/{settings.max[name]}" for name, n in found.items())
    return Verdict(True, f"{shown} in the {what}{age}")


def _check_vulnerabilities(
    facts: ImageFacts, settings: _Vulnerabilities, ctx: RuleContext
) -> list[Verdict]:
    signers: dict[int, str] = {}
    if settings.keys:
        verified, problems, skipped = _signed_reports(facts, settings.keys, ctx.now)
        reports = [report for report, _ in verified]
        signers = {id(report): f", signed by {key.name}" for report, key in verified}
        if not reports and not problems:
            why = f" ({'; '.join(skipped)})" if skipped else ""
            return [
                Verdict(
                    False,
                    f"no vulnerability report verifies with {key_names(settings.keys)}: "
                    f"{len(skipped)} attached, unsigned (a SARIF or Trivy referrer), signed by "
                    f"another key, tampered, or for another digest{why}",
                )
            ]
    else:
        reports, problems = _unsigned_reports(facts, ctx.now)
    if problems:
        return [Verdict(False, "vulnerability report refused: " + "; ".join(problems))]
    if not reports:
        return [
            Verdict(
                False,
                "no vulnerability report attached: no cosign vulnerability attestation, "
                "SARIF or Trivy JSON referrer",
            )
        ]
    newest = _newest(reports)
    return [_judge(newest, settings, ctx, signers.get(id(newest), ""))]


VULNERABILITIES_RULE = RuleSpec(
    "vulnerabilities",
    "The newest attached vulnerability report holds at most 'max' findings per severity, "
    "and is at most 'max_age' old; with 'key' or 'keys', only cosign vulnerability "
    "attestations signed by one of them count.",
    ("max", "max_age", "key", "keys"),
    _parse_vulnerabilities,
    _check_vulnerabilities,
)
