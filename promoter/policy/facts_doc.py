"""The image facts document: reading, writing and the accessors rules share.

The document is plain JSON (``factsVersion`` 1) so ``--facts-out`` can save it,
a dry run can check it offline with ``--facts``, and a ``schema`` rule can apply
a user's JSON Schema to it. Its shape::

    {"factsVersion": 1, "reference": ..., "repository": ..., "digest": ...,
     "mediaType": ..., "annotations": {...},
     "index": {"manifests": [{"digest", "mediaType", "size", "platform", "annotations"}]} | null,
     "platforms": [{"platform": "linux/amd64", "digest", "mediaType", "size", "annotations",
                    "config": {"digest", "mediaType", "size"}, "layers": [...],
                    "layersSize", "totalSize", "os", "architecture", "variant", "created",
                    "user", "env", "labels", "exposedPorts", "entrypoint", "cmd",
                    "workingDir", "history": [{"created", "createdBy", "emptyLayer"}]}],
     "referrers": [{"digest", "mediaType", "artifactType", "size", "annotations", "source"}],
     "signatures": [{"source", "digest", "layers": [{"mediaType", "digest", "payload",
                                                     "signature"}]}],
     "attestations": [{"source": "tag" | "referrers", "manifest", "digest", "predicateType",
                       "envelope": {DSSE, as stored} | "error" | "summarized"}],
     "vulnerabilityReports": [{"source", "manifest", "digest", "format", "created",
                               "scanner", "counts": {"critical", "high", ...}} | "error"],
     "gathered": {"at": ..., "requests": ...}}

Values that look like credentials are redacted before the document leaves the
gathering code (see ``promoter.policy.secrets``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promoter.config.inputfile import read_json_input
from promoter.errors import InputError
from promoter.files import write_file
from promoter.policy.secrets import redact_assignment, redact_text, redact_value

__all__ = [
    "FACTS_VERSION",
    "Facts",
    "load_facts",
    "platform_label",
    "redact_facts",
    "write_facts",
]

FACTS_VERSION = 1

#: A facts document (parsed JSON).
Facts = dict[str, Any]


def platform_label(os_name: str | None, architecture: str | None, variant: str | None) -> str:
    """``linux/arm64/v8`` from its parts; ``unknown`` parts stay visible."""
    parts = [os_name or "unknown", architecture or "unknown"]
    if variant:
        parts.append(variant)
    return "/".join(parts)


def redact_facts(facts: Facts) -> Facts:
    """The same document with suspected credential values replaced by markers."""

    def _mapping(values: object) -> object:
        if not isinstance(values, dict):
            return values
        return {k: redact_value(k, v) if isinstance(v, str) else v for k, v in values.items()}

    facts["annotations"] = _mapping(facts.get("annotations"))
    for platform in facts.get("platforms") or []:
        platform["env"] = [
            redact_assignment(e) if isinstance(e, str) else e for e in platform.get("env") or []
        ]
        platform["labels"] = _mapping(platform.get("labels"))
        platform["annotations"] = _mapping(platform.get("annotations"))
        for step in platform.get("history") or []:
            if isinstance(step.get("createdBy"), str):
                step["createdBy"] = redact_text(step["createdBy"])
            if isinstance(step.get("comment"), str):
                step["comment"] = redact_text(step["comment"])
        for key in ("entrypoint", "cmd"):
            if isinstance(platform.get(key), list):
                platform[key] = [redact_text(x) if isinstance(x, str) else x for x in platform[key]]
    for referrer in facts.get("referrers") or []:
        referrer["annotations"] = _mapping(referrer.get("annotations"))
    return facts


def load_facts(path: str | Path) -> Facts:
    """Read a facts document written by ``--facts-out`` (redacted again); ``InputError`` when
    it is not one."""
    file = str(path)
    hint = "write one with 'promoter check REF --facts-out FILE'"
    document = read_json_input(file, what="facts document", hint=hint)
    if not isinstance(document, dict) or document.get("factsVersion") != FACTS_VERSION:
        raise InputError(
            f"{file}: not an image facts document (factsVersion {FACTS_VERSION})",
            hint="write one with 'promoter check REF --facts-out FILE'",
        )
    if not isinstance(document.get("digest"), str) or not isinstance(
        document.get("platforms"), list
    ):
        raise InputError(f"{file}: facts document lacks 'digest' or 'platforms'")
    # A document from elsewhere may not have been redacted: do it again (idempotent).
    return redact_facts(document)


def write_facts(path: str | Path, facts: Facts) -> None:
    """Write the document atomically (a temporary file renamed over a file or link)."""
    target = Path(path)
    text = json.dumps(facts, indent=2, sort_keys=False) + "\n"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file(target, text)
    except OSError as error:
        raise InputError(f"cannot write facts to {target}: {error}") from None
