"""Annotations: the problems of a command's document, at the file and line they concern.

Configuration errors at the pipeline.yml line, build failures at the Dockerfile
line kaniko named, enforced policy failures at the rule's line, tag conflicts
at the promotion rule's line, failed promotions; ``warn``-mode policy failures
and the run's warnings as warnings. Ordered by importance, because GitHub shows
only the first ten errors and ten warnings of a step.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from promoter.structs import replace, struct

__all__ = ["SHOWN_PER_LEVEL", "Annotation", "annotations_of", "limit_annotations"]

#: GitHub shows this many errors, and this many warnings, per step.
SHOWN_PER_LEVEL = 10

#: Lower ranks come first.
_RANKS = {"input": 0, "build": 1, "operation": 2, "policy": 3, "conflict": 4, "promotion": 5}


@struct(frozen=True)
class Annotation:
    """One problem: ``error`` or ``warning``, a title, a message, where it is."""

    level: str
    title: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    rank: int = 9


def relative_path(path: str | None, env: Mapping[str, str]) -> str | None:
    """``path`` as the service shows it: relative to the checkout when inside it."""
    if not path:
        return None
    root = env.get("GITHUB_WORKSPACE") or env.get("BUILD_SOURCESDIRECTORY") or os.getcwd()
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except (ValueError, OSError):
        return path


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _error(error: Mapping[str, object]) -> Annotation:
    kind = str(error.get("type") or "")
    message = str(error.get("message") or "failed")
    if error.get("dockerfile") and error.get("dockerfileLine"):
        return Annotation(
            "error", "build failed", message, str(error["dockerfile"]),
            _int(error["dockerfileLine"]), rank=_RANKS["build"],
        )  # fmt: skip
    if error.get("file"):
        # A ConfigError's message starts with its location; the annotation has it already.
        reason = str(error.get("reason") or message)
        path = f"{error['path']}: " if error.get("path") else ""
        return Annotation(
            "error", "configuration error", f"{path}{reason}", str(error["file"]),
            _int(error.get("line")), _int(error.get("column")), rank=_RANKS["input"],
        )  # fmt: skip
    title = {"InputError": "bad input", "ConfigError": "configuration error"}.get(kind)
    if title is None and kind in ("BuildError", "KanikoFailed"):
        title = "build failed"
    return Annotation(
        "error",
        title or "promoter failed",
        message,
        rank=_RANKS["input"] if title == "bad input" else _RANKS["operation"],
    )


def _warning(warning: Mapping[str, object]) -> Annotation:
    """A pipeline file's warning (a literal secret build argument) at its line."""
    path = f"{warning['path']}: " if warning.get("path") else ""
    return Annotation(
        "warning", "pipeline warning", f"{path}{warning.get('message') or ''}",
        str(warning["file"]) if warning.get("file") else None,
        _int(warning.get("line")), _int(warning.get("column")), rank=_RANKS["input"],
    )  # fmt: skip


def _checks(image: str, check: Mapping[str, Any]) -> Iterator[Annotation]:
    for result in check.get("results") or []:
        status = result.get("status")
        if status not in ("fail", "warn"):
            continue
        platform = f" [{result['platform']}]" if result.get("platform") else ""
        yield Annotation(
            "error" if status == "fail" else "warning",
            f"policy {result.get('rule')} {'failed' if status == 'fail' else 'warns'}: {image}",
            f"{result.get('rule')}{platform}: {result.get('message')}",
            result.get("file"),
            _int(result.get("line")),
            rank=_RANKS["policy"],
        )


def _run(document: Mapping[str, Any]) -> Iterator[Annotation]:
    for name, check in (document.get("checks") or {}).items():
        yield from _checks(str(name), check)
    plan = document.get("plan") or {}
    for image in plan.get("images") or []:
        for action in image.get("actions") or []:
            if action.get("action") == "conflict":
                yield Annotation(
                    "error",
                    f"tag conflict: {image.get('image')}",
                    f"{action.get('destination')}:{action.get('tag')}: {action.get('reason')}",
                    plan.get("file") or document.get("file"),
                    _int(action.get("line")),
                    rank=_RANKS["conflict"],
                )
    for image in (document.get("promotion") or {}).get("images") or []:
        if image.get("status") == "failed":
            error = image.get("error") or {}
            yield Annotation(
                "error",
                f"promotion failed: {image.get('image')}",
                str(error.get("message") or image.get("message") or "failed"),
                rank=_RANKS["promotion"],
            )
    for note in document.get("notes") or []:
        if str(note).startswith("warning: "):
            yield Annotation("warning", "promoter", str(note)[len("warning: ") :])


def annotations_of(document: Mapping[str, Any], kind: str) -> list[Annotation]:
    """Every annotation of ``document``, most important first."""
    found: list[Annotation] = []
    if document.get("error"):
        found.append(_error(document["error"]))
    if kind == "run":
        found += _run(document)
    elif kind == "check":
        found += _checks(str(document.get("reference") or "image"), document)
    elif kind == "validate":
        found += [_warning(w) for w in document.get("warnings") or [] if isinstance(w, Mapping)]
    elif kind == "tags":
        found += [
            Annotation("warning", "promoter tags", str(w)) for w in document.get("warnings") or []
        ]
    return sorted(found, key=lambda a: (a.level != "error", a.rank))


def limit_annotations(
    annotations: Sequence[Annotation], per_level: int = SHOWN_PER_LEVEL
) -> list[Annotation]:
    """At most ``per_level`` of each level; the last one shown says how many more there are."""
    shown: list[Annotation] = []
    for level in ("error", "warning"):
        same = [a for a in annotations if a.level == level]
        kept = same[:per_level]
        hidden = len(same) - len(kept)
        if hidden > 0:
            last = kept[-1]
            more = f" (and {hidden} more {level}{'s' if hidden > 1 else ''} in the job summary)"
            kept[-1] = replace(last, message=last.message + more)
        shown += kept
    return shown
