"""Vulnerability reports summarised: findings per severity, the scan's time, the scanner.

Three shapes are read:

- a cosign vulnerability attestation: an in-toto statement whose predicate type is
  ``https://cosign.sigstore.dev/attestation/vuln/v1`` (or the bare predicate), with
  ``scanner.result`` holding the scanner's own report and ``metadata.scanFinishedOn``;
- SARIF 2.1.0: ``runs[].results[]``; a result's severity is its rule's (or its own)
  ``security-severity`` score (9.0+ critical, 7.0+ high, 4.0+ medium, else low, as
  GitHub reads it), else a severity word among the rule's tags (Trivy writes them),
  else its ``level`` (error: high, warning: medium, note: low);
- Trivy JSON (``SchemaVersion`` 2): ``Results[].Vulnerabilities[].Severity``,
  ``CreatedAt``.

Every finding counts once per place it is reported (a CVE in two packages is two).

Reading fails closed: a report that does not hold to the shape of the format it is
read as (a severity that is not a known name, a score outside 0-10, a field of the
wrong type, a required field missing, a SARIF run without its ``results``) is
summarised as ``{"format", "error"}`` naming the field, never as zero findings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["SEVERITIES", "VULN_PREDICATE", "summarize_report"]

VULN_PREDICATE = "https://cosign.sigstore.dev/attestation/vuln/v1"
SEVERITIES = ("critical", "high", "medium", "low", "unknown")
_ALIASES = {"negligible": "low", "info": "low", "informational": "low", "moderate": "medium"}
_LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "low"}
_FORMATS = ("sarif", "trivy", "cosign-vuln")
_TYPES: dict[type, str] = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
}


class _Malformed(ValueError):
    """A report that does not hold to its format; the message names the field."""


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for python, name in _TYPES.items():
        if isinstance(value, python):
            return name
    return type(value).__name__


def _field(
    parent: Mapping[str, object], key: str, path: str, want: type, *, required: bool = False
) -> Any:
    """``parent[key]`` when it is a ``want`` (int for float too), None when absent and not
    ``required``; ``_Malformed`` naming ``path.key`` otherwise."""
    where = f"{path}.{key}" if path else key
    value = parent.get(key)
    if value is None:
        if required:
            raise _Malformed(f"{where} is missing")
        return None
    wanted = (int, float) if want is float else want
    if isinstance(value, bool) or not isinstance(value, wanted):
        shown = f" ({str(value)[:40]!r})" if isinstance(value, (str, int, float)) else ""
        raise _Malformed(f"{where}: {_TYPES[want]} is wanted, not {_kind(value)}{shown}")
    return value


def _items(parent: Mapping[str, Any], key: str, path: str, want: type, **kw: bool) -> list[Any]:
    """The members of the list ``parent[key]``, each checked to be a ``want``."""
    values = _field(parent, key, path, list, **kw) or []
    where = f"{path}.{key}" if path else key
    for n, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, want):
            raise _Malformed(f"{where}[{n}]: {_TYPES[want]} is wanted, not {_kind(value)}")
    return list(values)


def _severity_word(value: str, where: str) -> str:
    word = value.strip().lower()
    word = _ALIASES.get(word, word)
    if word not in SEVERITIES:
        raise _Malformed(
            f"{where}: unknown severity {value[:40]!r} (known: {', '.join(SEVERITIES)})"
        )
    return word


def _score(value: object, where: str) -> str:
    """The severity of a CVSS-like score (a number, or a string holding one) in 0-10."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Malformed(f"{where}: a score (0-10) is wanted, not {_kind(value)}")
    try:
        score = float(value)
    except ValueError:
        raise _Malformed(f"{where}: {str(value)[:40]!r} is not a score (0-10)") from None
    if not math.isfinite(score) or not 0.0 <= score <= 10.0:
        raise _Malformed(f"{where}: score {str(value)[:40]} is outside 0-10")
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


# -- SARIF ------------------------------------------------------------------------------


def _sarif_rule(result: Mapping[str, Any], path: str, rules: list[Any]) -> Mapping[str, Any]:
    """The rule a result refers to (by ``ruleIndex``, else ``ruleId``), or {}."""
    index = _field(result, "ruleIndex", path, int)
    if index is not None and index != -1:
        if not 0 <= index < len(rules):
            raise _Malformed(f"{path}.ruleIndex: {index} is outside the {len(rules)} rules")
        found: Mapping[str, object] = rules[index]
        return found
    rule_id = _field(result, "ruleId", path, str)
    return next((r for r in rules if r.get("id") == rule_id), {}) if rule_id else {}


def _sarif_severity(result: Mapping[str, object], path: str, rules: list[object]) -> str:
    rule = _sarif_rule(result, path, rules)
    _field(result, "message", path, dict, required=True)
    rule_path = f"{path} rule {rule.get('id')!r}"
    own = _field(result, "properties", path, dict) or {}
    ruled = _field(rule, "properties", rule_path, dict) or {}
    for properties, where in ((own, f"{path}.properties"), (ruled, f"{rule_path}.properties")):
        if properties.get("security-severity") is not None:
            return _score(properties["security-severity"], f"{where}.security-severity")
    for properties, where in ((own, f"{path}.properties"), (ruled, f"{rule_path}.properties")):
        for tag in _items(properties, "tags", where, str):
            word = str(_ALIASES.get(tag.strip().lower(), tag.strip().lower()))
            if word in SEVERITIES and word != "unknown":
                return word
    configuration = _field(rule, "defaultConfiguration", rule_path, dict) or {}
    level = _field(result, "level", path, str) or _field(
        configuration, "level", f"{rule_path}.defaultConfiguration", str
    )
    if level is not None and level not in _LEVELS:
        raise _Malformed(f"{path}.level: {level[:40]!r} is not one of {', '.join(_LEVELS)}")
    return _LEVELS[str(level or "warning")]


def _sarif_run(run: Mapping[str, Any], path: str, counts: dict[str, int]) -> tuple[Any, Any]:
    """Count one run's results; ``(scanner name, newest invocation time)``."""
    tool = _field(run, "tool", path, dict, required=True)
    driver = _field(tool, "driver", f"{path}.tool", dict, required=True)
    where = f"{path}.tool.driver"
    name = _field(driver, "name", where, str, required=True)
    version = _field(driver, "version", where, str)
    rules = _items(driver, "rules", where, dict)
    for n, rule in enumerate(rules):
        _field(rule, "id", f"{where}.rules[{n}]", str, required=True)
    if run.get("results") is None:
        raise _Malformed(
            f"{path}.results is missing: the run did not finish (SARIF writes [] for none)"
        )
    for n, result in enumerate(_items(run, "results", path, dict)):
        counts[_sarif_severity(result, f"{path}.results[{n}]", rules)] += 1
    created = None
    for n, invocation in enumerate(_items(run, "invocations", path, dict)):
        for key in ("endTimeUtc", "startTimeUtc"):
            stamp = _field(invocation, key, f"{path}.invocations[{n}]", str)
            if stamp is not None and (created is None or stamp > created):
                created = stamp
    return " ".join(x for x in (name, version) if x), created


def _sarif(document: Mapping[str, object]) -> dict[str, object]:
    version = _field(document, "version", "", str, required=True)
    if version != "2.1.0":
        raise _Malformed(f"version: {version[:20]!r} is not SARIF 2.1.0")
    counts = dict.fromkeys(SEVERITIES, 0)
    created: str | None = None
    scanner = None
    for n, run in enumerate(_items(document, "runs", "", dict, required=True)):
        name, stamp = _sarif_run(run, f"runs[{n}]", counts)
        scanner = scanner or name
        if stamp is not None and (created is None or stamp > created):
            created = stamp
    return {"format": "sarif", "created": created, "scanner": scanner, "counts": counts}


# -- Trivy ------------------------------------------------------------------------------


def _trivy_finding(finding: Mapping[str, object], path: str) -> str:
    _field(finding, "VulnerabilityID", path, str, required=True)
    severity = _severity_word(
        _field(finding, "Severity", path, str, required=True), f"{path}.Severity"
    )
    for source, scores in (_field(finding, "CVSS", path, dict) or {}).items():
        where = f"{path}.CVSS.{source}"
        if not isinstance(scores, Mapping):
            raise _Malformed(f"{where}: an object is wanted, not {_kind(scores)}")
        for key, value in scores.items():
            if key.endswith("Score") and value is not None:
                _score(value, f"{where}.{key}")
    return severity


def _trivy(document: Mapping[str, object]) -> dict[str, object]:
    schema = _field(document, "SchemaVersion", "", int, required=True)
    if schema != 2:
        raise _Malformed(f"SchemaVersion: {schema} is not Trivy's JSON schema 2")
    counts = dict.fromkeys(SEVERITIES, 0)
    # Trivy leaves out Results, and a result's Vulnerabilities, when there are none.
    for n, result in enumerate(_items(document, "Results", "", dict)):
        path = f"Results[{n}]"
        for m, finding in enumerate(_items(result, "Vulnerabilities", path, dict)):
            counts[_trivy_finding(finding, f"{path}.Vulnerabilities[{m}]")] += 1
    return {
        "format": "trivy",
        "created": _field(document, "CreatedAt", "", str),
        "scanner": "Trivy",
        "counts": counts,
    }


# -- cosign's vulnerability predicate ---------------------------------------------------


def _detect(document: Mapping[str, object]) -> str | None:
    """The format a document says it is by its keys (not by their values' types)."""
    if document.get("predicateType") == VULN_PREDICATE or "scanner" in document:
        return "cosign-vuln"
    if "runs" in document or str(document.get("$schema") or "").find("sarif") >= 0:
        return "sarif"
    if "SchemaVersion" in document or "Results" in document:
        return "trivy"
    return None


def _cosign_vuln(document: Mapping[str, object]) -> dict[str, object]:
    path, predicate = "", document
    if "predicateType" in document:  # the statement; else the bare predicate
        if document.get("predicateType") != VULN_PREDICATE:
            shown = str(document["predicateType"])[:80]
            raise _Malformed(f"predicateType: {shown!r} is not {VULN_PREDICATE!r}")
        path, predicate = "predicate", _field(document, "predicate", "", dict, required=True)
    where = f"{path}.scanner" if path else "scanner"
    scanner = _field(predicate, "scanner", path, dict, required=True)
    result = _field(scanner, "result", where, dict, required=True)
    inner_format = _detect(result)
    if inner_format not in ("sarif", "trivy"):
        raise _Malformed(f"{where}.result is not SARIF or Trivy JSON")
    try:
        inner = _sarif(result) if inner_format == "sarif" else _trivy(result)
    except _Malformed as error:
        raise _Malformed(f"{where}.result ({inner_format}): {error}") from None
    metadata = _field(predicate, "metadata", path, dict) or {}
    meta_path = f"{path}.metadata" if path else "metadata"
    finished = _field(metadata, "scanFinishedOn", meta_path, str)
    stamp = finished or _field(metadata, "scanStartedOn", meta_path, str) or inner["created"]
    name = " ".join(
        x for x in (_field(scanner, "uri", where, str), _field(scanner, "version", where, str)) if x
    )
    return {
        "format": "cosign-vuln",
        "created": stamp,
        "scanner": name or inner["scanner"],
        "counts": inner["counts"],
    }


_READERS = {"sarif": _sarif, "trivy": _trivy, "cosign-vuln": _cosign_vuln}


def summarize_report(
    document: object, created: str | None = None, claimed: str | None = None
) -> dict[str, object]:
    """``{"format", "created", "scanner", "counts": {severity: n}}`` of a report, or
    ``{"format", "error"}`` naming what does not hold. ``claimed`` is the format the
    report was attached as (``sarif``, ``trivy``, ``cosign-vuln``): it is read as that
    format only; else the format is told by the document's keys. ``created`` is the
    registry side's time, used when the report itself has none."""
    if not isinstance(document, Mapping):
        return {"format": claimed or "unknown", "error": f"{_kind(document)}, not a JSON object"}
    kind = claimed if claimed in _FORMATS else _detect(document)
    if kind is None:
        return {
            "format": "unknown",
            "error": "not a SARIF, Trivy JSON or cosign vulnerability report",
        }
    try:
        summary = _READERS[kind](document)
    except _Malformed as error:
        return {"format": kind, "error": f"does not parse as {kind}: {error}"}
    except RecursionError:
        return {"format": kind, "error": f"does not parse as {kind}: nested too deeply"}
    if not summary.get("created"):
        summary["created"] = created
    return summary
