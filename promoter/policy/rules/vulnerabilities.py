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
from datetime import datetime, timedelta
from pathlib import Path

from promoter.policy.attachedfacts import (
    AttestationFacts,
    ReportFacts,
    ReportSummary,
    read_summary,
)
from promoter.policy.declared import PolicyRule
from promoter.policy.imagefacts import ImageFacts
from promoter.policy.results import Verdict
from promoter.policy.rules.attested import (
    names_digest,
    unreadable_attestations,
    verified_statement,
)
from promoter.policy.rules.base import RuleContext, RuleSpec
from promoter.policy.rules.provenance import _days
from promoter.policy.rules.signed import TrustedKey, key_names, parse_keys
from promoter.policy.vulnreports import SEVERITIES, VULN_PREDICATE, summarize_report
from promoter.signing.dsse import Envelope, EnvelopeError
from promoter.structs import replace, struct
from promoter.units import parse_duration

__all__ = ["CLOCK_SKEW", "VULNERABILITIES_RULE"]

#: How far ahead of this machine's clock a report's time may be (the scanner's clock).
CLOCK_SKEW = timedelta(minutes=5)


@struct(frozen=True)
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


def _describe(entry: ReportFacts | AttestationFacts, what: str = "report") -> str:
    """``the trivy report sha256:0123456789ab (referrers)`` for messages."""
    kind = entry.summary.format if isinstance(entry, ReportFacts) else None
    named = f"{kind} {what}" if kind is not None and kind != "unknown" else what
    return f"the {named} {str(entry.digest)[:19]} ({entry.source})"


def _report_problem(summary: ReportSummary, now: datetime) -> str | None:
    """Why a summarised report cannot be judged, or None."""
    if summary.problem is not None:
        return summary.problem
    if summary.stamp is not None and summary.stamp > now + CLOCK_SKEW:
        return (
            f"it is dated in the future ({summary.created}), more than the "
            f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes of clock skew allowed "
            f"ahead of now ({now.strftime('%Y-%m-%dT%H:%M:%SZ')})"
        )
    return None


def _unsigned_reports(facts: ImageFacts, now: datetime) -> tuple[list[ReportFacts], list[str]]:
    """``(the reports that can be judged, the problems of those that cannot)``."""
    reports, problems = [], []
    for entry in facts.reports:
        problem = _report_problem(entry.summary, now)
        if problem is None:
            reports.append(entry)
        else:
            problems.append(f"{_describe(entry)}: {problem}")
    # An attestation whose statement cannot be read may be a report: it is not skipped.
    for attestation in unreadable_attestations(facts):
        if attestation.envelope is not None:
            problems.append(f"{_describe(attestation, 'attestation')}: {attestation.problem}")
    return reports, problems


def _signed_report(
    entry: ReportFacts,
    envelope: Envelope | EnvelopeError,
    facts: ImageFacts,
    keys: tuple[TrustedKey, ...],
    now: datetime,
) -> tuple[ReportFacts | None, TrustedKey | None, str]:
    """``(the report as the verified statement says, the key, "")``; ``(None, None, why)``
    when it does not count (not signed by a trusted key, about another digest); ``(None,
    key, why)`` when a trusted key signed what cannot be judged."""
    statement, key, problem = verified_statement(envelope, keys)
    if key is None:
        return None, None, problem
    if statement is None:
        return None, key, problem
    if statement.get("predicateType") != VULN_PREDICATE:
        return None, None, "not a cosign vulnerability attestation"
    if not names_digest(statement, facts.digest):
        return None, None, "for another digest"
    # The registry side's time is the fallback; the rest is read again from what is signed.
    summary = read_summary(summarize_report(statement, entry.summary.created, "cosign-vuln"))
    problem = _report_problem(summary, now) or ""
    return (None, key, problem) if problem else (replace(entry, summary=summary), key, "")


def _as_report(attestation: AttestationFacts) -> ReportFacts:
    """An attestation whose statement cannot be read, judged as a report may be."""
    where = (attestation.source, attestation.digest, attestation.manifest)
    return ReportFacts(*where, attestation.envelope, read_summary({}))


def _signed_reports(
    facts: ImageFacts, keys: tuple[TrustedKey, ...], now: datetime
) -> tuple[list[tuple[ReportFacts, TrustedKey]], list[str], list[str]]:
    """``(verified reports with their key, problems of what a trusted key signed, why the
    rest do not count)``."""
    found, problems, skipped = [], [], []
    unread = [_as_report(a) for a in unreadable_attestations(facts) if a.envelope is not None]
    for entry in [*facts.reports, *unread]:
        if entry.envelope is None:
            skipped.append(f"{_describe(entry)}: unsigned")
            continue
        report, key, problem = _signed_report(entry, entry.envelope, facts, keys, now)
        if report is not None and key is not None:
            found.append((report, key))
        elif key is not None:
            problems.append(f"{_describe(entry)} signed by {key.name}: {problem}")
        else:
            skipped.append(f"{_describe(entry)}: {problem}")
    return found, problems, skipped


def _newest(reports: list[ReportFacts]) -> ReportFacts:
    stamped = [(stamp, r) for r in reports if (stamp := r.summary.stamp) is not None]
    if stamped:
        return max(stamped, key=lambda pair: pair[0])[1]
    return reports[0]


def _judge(
    report: ReportFacts, settings: _Vulnerabilities, ctx: RuleContext, signer: str
) -> Verdict:
    summary = report.summary
    what = f"{summary.format} report ({report.source}, {summary.scanner}{signer})"
    stamp = summary.stamp
    age = ""
    if settings.max_age is not None:
        if stamp is None:
            return Verdict(False, f"{what} says not when it was made: its age cannot be judged")
        if ctx.now - stamp > settings.max_age:
            return Verdict(
                False,
                f"the newest {what} is stale: made {_days(ctx.now - stamp)} ago "
                f"({summary.created}), older than {_days(settings.max_age)}",
            )
    if stamp is not None:
        age = f", made {_days(max(ctx.now - stamp, timedelta(0)))} ago"
    found = {name: summary.counts.get(name, 0) for name in settings.max}
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
