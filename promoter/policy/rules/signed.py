"""The ``signed`` rule: a cosign signature made with a given public key."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promoter.policy.cosign import load_public_key, verify_signatures
from promoter.policy.declared import PolicyRule
from promoter.policy.facts_doc import Facts
from promoter.policy.results import Outcome
from promoter.policy.rules.base import RuleContext, RuleSpec

__all__ = ["SIGNED_RULE"]


@dataclass(frozen=True)
class _Signed:
    key: Any
    key_name: str


def _parse_signed(rule: PolicyRule, base: Path) -> _Signed:
    name = rule.options.get("key")
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str) or not name:
        raise rule.error("rule 'signed' needs 'key': a PEM public key file", key="key")
    path = base / name
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise rule.error(f"cannot read key {name}: {error.strerror or error}", key="key") from None
    try:
        return _Signed(load_public_key(pem), name)
    except ValueError as error:
        raise rule.error(f"{name}: {error}", key="key") from None


def _check_signed(facts: Facts, settings: _Signed, _ctx: RuleContext) -> list[Outcome]:
    digest = str(facts.get("digest"))
    checks = verify_signatures(facts.get("signatures") or [], digest, settings.key)
    good = [c for c in checks if c.verified]
    if good:
        sources = ", ".join(sorted({c.source for c in good}))
        return [Outcome(True, f"signed with {settings.key_name} (found by {sources})")]
    if not checks:
        return [Outcome(False, "no cosign signature found (tag sha256-<hex>.sig or referrers)")]
    reasons = "; ".join(dict.fromkeys(c.reason for c in checks))
    return [Outcome(False, f"no valid signature with {settings.key_name}: {reasons}")]


SIGNED_RULE = RuleSpec(
    "signed",
    "A cosign signature made with the given public key must be attached.",
    ("key",),
    _parse_signed,
    _check_signed,
)
