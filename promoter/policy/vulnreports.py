"""Vulnerability reports summarised: findings per severity, the scan's time, the scanner.

Three shapes are read:

- a cosign vulnerability attestation: an in-toto statement whose predicate type is
  ``https://cosign.sigstore.dev/attestation/vuln/v1`` (or the bare predicate), with
  ``scanner.result`` holding the scanner's own report and ``metadata.scanFinishedOn``;
- SARIF 2.1.0: ``runs[].results[]``; a result's severity is its rule's (or its own)
  ``security-severity`` score (9.0+ critical, 7.0+ high, 4.0+ medium, else low, as
  GitHub reads it), else a severity word among the rule's tags (Trivy writes them),
  else its ``level`` (error: high, warning: medium, note: low);
- Trivy JSON: ``Results[].Vulnerabilities[].Severity``, ``CreatedAt``.

Every finding counts once per place it is reported (a CVE in two packages is two).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SEVERITIES", "VULN_PREDICATE", "summarize_report"]

VULN_PREDICATE = "https://cosign.sigstore.dev/attestation/vuln/v1"
SEVERITIES = ("critical", "high", "medium", "low", "unknown")
_ALIASES = {"negligible": "low", "info": "low", "informational": "low", "moderate": "medium"}
_LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "low"}


def _severity_word(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    word = _ALIASES.get(word, word)
    return word if word in SEVERITIES else None


def _score(value: Any) -> str | None:
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _sarif_severity(result: Mapping[str, Any], rules: list[Any], by_id: dict[str, Any]) -> str:
    index = result.get("ruleIndex")
    rule: Mapping[str, Any] = {}
    if isinstance(index, int) and 0 <= index < len(rules):
        rule = _mapping(rules[index])
    elif isinstance(result.get("ruleId"), str):
        rule = _mapping(by_id.get(result["ruleId"]))
    own, ruled = _mapping(result.get("properties")), _mapping(rule.get("properties"))
    for properties in (own, ruled):
        found = _score(properties.get("security-severity"))
        if found:
            return found
    for properties in (own, ruled):
        for tag in _list(properties.get("tags")):
            word = _severity_word(tag)
            if word and word != "unknown":
                return word
    level = result.get("level") or _mapping(rule.get("defaultConfiguration")).get("level")
    return _LEVELS.get(str(level or "warning"), "unknown")


def _sarif(document: Mapping[str, Any]) -> dict[str, Any]:
    counts = dict.fromkeys(SEVERITIES, 0)
    created: str | None = None
    scanner = None
    for run in _list(document.get("runs")):
        run = _mapping(run)
        driver = _mapping(_mapping(run.get("tool")).get("driver"))
        if scanner is None and isinstance(driver.get("name"), str):
            scanner = " ".join(str(x) for x in (driver["name"], driver.get("version")) if x)
        rules = _list(driver.get("rules"))
        by_id = {str(_mapping(r).get("id")): r for r in rules}
        for result in _list(run.get("results")):
            counts[_sarif_severity(_mapping(result), rules, by_id)] += 1
        for invocation in _list(run.get("invocations")):
            invocation = _mapping(invocation)
            stamp = invocation.get("endTimeUtc") or invocation.get("startTimeUtc")
            if isinstance(stamp, str) and (created is None or stamp > created):
                created = stamp
    return {"format": "sarif", "created": created, "scanner": scanner, "counts": counts}


def _trivy(document: Mapping[str, Any]) -> dict[str, Any]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for result in _list(document.get("Results")):
        for finding in _list(_mapping(result).get("Vulnerabilities")):
            counts[_severity_word(_mapping(finding).get("Severity")) or "unknown"] += 1
    created = document.get("CreatedAt")
    return {
        "format": "trivy",
        "created": created if isinstance(created, str) else None,
        "scanner": "Trivy",
        "counts": counts,
    }


def _scanner_report(result: Any) -> dict[str, Any] | None:
    result = _mapping(result)
    if isinstance(result.get("runs"), list):
        return _sarif(result)
    if isinstance(result.get("Results"), list) or "SchemaVersion" in result:
        return _trivy(result)
    return None


def _cosign_vuln(predicate: Mapping[str, Any]) -> dict[str, Any]:
    scanner = _mapping(predicate.get("scanner"))
    inner = _scanner_report(scanner.get("result"))
    if inner is None:
        return {"format": "cosign-vuln", "error": "its scanner.result is not SARIF or Trivy JSON"}
    metadata = _mapping(predicate.get("metadata"))
    stamp = metadata.get("scanFinishedOn") or metadata.get("scanStartedOn") or inner["created"]
    name = " ".join(str(x) for x in (scanner.get("uri"), scanner.get("version")) if x)
    return {
        "format": "cosign-vuln",
        "created": stamp if isinstance(stamp, str) else None,
        "scanner": name or inner["scanner"],
        "counts": inner["counts"],
    }


def summarize_report(document: Any, created: str | None = None) -> dict[str, Any]:
    """``{"format", "created", "scanner", "counts": {severity: n}}`` of a report, or
    ``{"format", "error"}``; ``created`` is the registry side's time, used when the
    report itself has none."""
    document = _mapping(document)
    if document.get("predicateType") == VULN_PREDICATE:
        summary = _cosign_vuln(_mapping(document.get("predicate")))
    elif isinstance(_mapping(document.get("scanner")).get("result"), Mapping):
        summary = _cosign_vuln(document)
    else:
        found = _scanner_report(document)
        summary = found or {
            "format": "unknown",
            "error": "not a SARIF, Trivy JSON or cosign vulnerability report",
        }
    if "error" not in summary and not summary.get("created"):
        summary["created"] = created
    return summary
