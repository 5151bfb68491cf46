"""SARIF 2.1.0 for code scanning: one result per failed or warned rule, located at the
pipeline.yml line where the rule is declared.

Locations are relative to the repository root (the git work tree holding the file, else
``GITHUB_WORKSPACE`` or ``BUILD_SOURCESDIRECTORY``, else the working directory) with
``uriBaseId`` ``%SRCROOT%``, which the run's ``originalUriBaseIds`` defines: code scanning
finds pipeline.yml whatever directory promoter ran from. A command that could not finish
still prints a SARIF log: the error is a tool execution notification of the invocation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from promoter import __version__
from promoter.environment import snapshot
from promoter.errors import ConfigError, PromoterError
from promoter.policy.results import CheckReport, RuleResult
from promoter.policy.rules import RULES

__all__ = [
    "SARIF_SCHEMA_URI",
    "SRCROOT",
    "render_sarif",
    "render_sarif_error",
    "sarif_document",
    "sarif_error_document",
]

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {"fail": "error", "warn": "warning", "pass": "none"}


#: The ``uriBaseId`` of every location: the repository root.
SRCROOT = "%SRCROOT%"
#: Where the CI services check the repository out, in the order they are asked.
_WORKSPACE_VARIABLES = ("GITHUB_WORKSPACE", "BUILD_SOURCESDIRECTORY")


def _git_top(path: Path) -> Path | None:
    for parent in path.parents:
        if (parent / ".git").exists():
            return parent
    return None


def source_root(file: str | None, env: Mapping[str, str] | None = None) -> Path:
    """The repository root locations are relative to: the git work tree holding ``file``,
    else the CI checkout holding it, else the working directory."""
    env = snapshot() if env is None else env
    if file is not None:
        resolved = Path(file).resolve()
        top = _git_top(resolved)
        if top is not None:
            return top
        for variable in _WORKSPACE_VARIABLES:
            workspace = env.get(variable)
            if workspace and resolved.is_relative_to(Path(workspace).resolve()):
                return Path(workspace).resolve()
    return Path.cwd().resolve()


def _artifact_location(file: str, root: Path) -> dict[str, str]:
    """A URI relative to ``root`` with its ``uriBaseId``; a file: URI outside ``root``."""
    resolved = Path(file).resolve()
    try:
        relative = resolved.relative_to(root)
    except ValueError:
        return {"uri": resolved.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}


def _base_ids(root: Path) -> dict[str, object]:
    return {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}}


def _descriptor(name: str, mode: str) -> dict[str, object]:
    spec = RULES.get(name)
    text = spec.description if spec is not None else name
    return {
        "id": name,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "shortDescription": {"text": text},
        "defaultConfiguration": {"level": "error" if mode == "enforce" else "warning"},
    }


def _result(result: RuleResult, index: int, report: CheckReport, root: Path) -> dict[str, object]:
    platform = f" [{result.platform}]" if result.platform else ""
    out: dict[str, object] = {
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
        location: dict[str, object] = {"artifactLocation": _artifact_location(result.file, root)}
        if result.line is not None:
            location["region"] = {"startLine": result.line}
        out["locations"] = [{"physicalLocation": location}]
    return out


def _tool(rules: list[dict[str, object]]) -> dict[str, object]:
    return {"driver": {"name": "promoter", "version": __version__, "rules": rules}}


def sarif_document(report: CheckReport) -> dict[str, object]:
    """The SARIF log: the tool, its rules (one per declared rule name), failed/warned results."""
    names: list[str] = []
    modes: dict[str, str] = {}
    for result in report.results:
        if result.rule not in modes:
            names.append(result.rule)
        modes.setdefault(result.rule, result.mode)
    index = {name: number for number, name in enumerate(names)}
    root = source_root(next((r.file for r in report.results if r.file is not None), None))
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": _tool([_descriptor(name, modes[name]) for name in names]),
                "originalUriBaseIds": _base_ids(root),
                "invocations": [{"executionSuccessful": True}],
                "results": [
                    _result(r, index[r.rule], report, root)
                    for r in report.results
                    if r.status != "pass"
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


def _notification(error: PromoterError, exit_code: int, root: Path) -> dict[str, object]:
    """The error as a tool execution notification, at its pipeline.yml line when it has one."""
    properties = {"exitCode": exit_code, **error.to_dict()}
    notification: dict[str, object] = {
        "level": "error",
        "message": {"text": error.message},
        "descriptor": {"id": type(error).__name__},
        "properties": {k: v for k, v in properties.items() if v is not None},
    }
    if isinstance(error, ConfigError) and error.file is not None:
        location: dict[str, object] = {"artifactLocation": _artifact_location(error.file, root)}
        if error.line is not None:
            region: dict[str, int] = {"startLine": error.line}
            if error.column is not None:
                region["startColumn"] = error.column
            location["region"] = region
        notification["locations"] = [{"physicalLocation": location}]
    return notification


def sarif_error_document(error: PromoterError, exit_code: int) -> dict[str, object]:
    """The SARIF log of a check that could not finish: the invocation failed
    (``executionSuccessful: false``) with the error as its notification, and no
    ``results`` at all (SARIF 2.1.0 3.14.23: absent when the analysis did not happen)."""
    root = source_root(error.file if isinstance(error, ConfigError) else None)
    invocation = {
        "executionSuccessful": False,
        "exitCode": exit_code,
        "toolExecutionNotifications": [_notification(error, exit_code, root)],
    }
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": _tool([]),
                "originalUriBaseIds": _base_ids(root),
                "invocations": [invocation],
                # No "results": the check did not run, which SARIF tells apart from an
                # empty list (no findings); code scanning keeps its open alerts.
            }
        ],
    }


def render_sarif_error(error: PromoterError, exit_code: int) -> str:
    """The SARIF log of a failed check as JSON text."""
    return json.dumps(sarif_error_document(error, exit_code), indent=2, default=str) + "\n"
