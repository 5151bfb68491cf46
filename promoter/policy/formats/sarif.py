"""SARIF 2.1.0 for code scanning: one result per failed or warned rule, located at the
pipeline.yml line where the rule is declared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from promoter import __version__
from promoter.policy.results import CheckReport, RuleResult

__all__ = ["SARIF_SCHEMA_URI", "render_sarif", "sarif_document"]

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {"fail": "error", "warn": "warning", "pass": "none"}


def _uri(file: str) -> str:
    """A relative URI when the file is under the working directory, else a file: URI."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_uri()
    return quote(path.as_posix().removeprefix("./"))


def _descriptor(name: str, mode: str) -> dict[str, Any]:
    from promoter.policy.rules import RULES

    spec = RULES.get(name)
    text = spec.description if spec is not None else name
    return {
        "id": name,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "shortDescription": {"text": text},
        "defaultConfiguration": {"level": "error" if mode == "enforce" else "warning"},
    }


def _result(result: RuleResult, index: int, report: CheckReport) -> dict[str, Any]:
    platform = f" [{result.platform}]" if result.platform else ""
    out: dict[str, Any] = {
        "ruleId": result.rule,
        "ruleIndex": index,
        "level": _LEVEL[result.status],
        "message": {"text": f"{report.reference or report.digest}{platform}: {result.message}"},
        "properties": {
            "platform": result.platform,
            "mode": result.mode,
            "status": result.status,
            "digest": report.digest,
        },
    }
    if result.file is not None:
        location: dict[str, Any] = {"artifactLocation": {"uri": _uri(result.file)}}
        if result.line is not None:
            location["region"] = {"startLine": result.line}
        out["locations"] = [{"physicalLocation": location}]
    return out


def sarif_document(report: CheckReport) -> dict[str, Any]:
    """The SARIF log: the tool, its rules (one per declared rule name), failed/warned results."""
    names: list[str] = []
    modes: dict[str, str] = {}
    for result in report.results:
        if result.rule not in modes:
            names.append(result.rule)
        modes.setdefault(result.rule, result.mode)
    index = {name: number for number, name in enumerate(names)}
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "promoter",
                        "version": __version__,
                        "rules": [_descriptor(name, modes[name]) for name in names],
                    }
                },
                "invocations": [{"executionSuccessful": True}],
                "results": [
                    _result(r, index[r.rule], report) for r in report.results if r.status != "pass"
                ],
                "properties": {
                    "reference": report.reference,
                    "digest": report.digest,
                    "passed": report.count("pass"),
                },
            }
        ],
    }


def render_sarif(report: CheckReport) -> str:
    """The SARIF log as JSON text."""
    return json.dumps(sarif_document(report), indent=2) + "\n"
