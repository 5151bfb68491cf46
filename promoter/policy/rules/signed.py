"""The ``signed`` rule: a cosign signature made with a given public key (or one of several).

Signatures are found in cosign's tag form (``sha256-<hex>.sig``) and as OCI
referrers; a pass names the key that verified (its file and fingerprint) and
where the signature was found.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from promoter.errors import InputError
from promoter.policy.declared import PolicyRule
from promoter.policy.imagefacts import ImageFacts
from promoter.policy.results import Verdict
from promoter.policy.rules.base import RuleContext, RuleSpec
from promoter.signing.cosign import verify_signatures
from promoter.signing.keys import fingerprint, load_public_key
from promoter.structs import struct

__all__ = ["SIGNED_RULE", "TrustedKey", "parse_keys"]


@struct(frozen=True)
class TrustedKey:
    """A public key a rule trusts: as named in the declaration, and its fingerprint."""

    name: str
    key: Any
    fingerprint: str

    def describe(self) -> str:
        """``keys/cosign.pub (sha256:1234abcd…)``"""
        return f"{self.name} ({self.fingerprint[:15]}…)"


def _key_names(rule: PolicyRule) -> list[str]:
    one, many = rule.options.get("key"), rule.options.get("keys")
    if one is not None and many is not None:
        raise rule.error(f"rule '{rule.rule}' takes 'key' or 'keys', not both", key="keys")
    if many is not None:
        if not isinstance(many, list) or not many:
            raise rule.error("must be a list of PEM public key files", key="keys")
        names = [os.fspath(n) if isinstance(n, os.PathLike) else n for n in many]
        if not all(isinstance(n, str) and n for n in names):
            raise rule.error("must be a list of PEM public key files", key="keys")
        return names
    if isinstance(one, os.PathLike):
        one = os.fspath(one)
    if not isinstance(one, str) or not one:
        raise rule.error(
            f"rule '{rule.rule}' needs 'key': a PEM public key file (or 'keys': a list)", key="key"
        )
    return [one]


def parse_keys(rule: PolicyRule, base: Path) -> tuple[TrustedKey, ...]:
    """The public keys of a rule's ``key`` (one PEM file) or ``keys`` (a list), read
    relative to ``base``; a missing or bad file is a ``ConfigError`` at the declaration."""
    option = "keys" if "keys" in rule.options else "key"
    keys = []
    for name in _key_names(rule):
        try:
            pem = (base / name).read_bytes()
        except OSError as error:
            raise rule.error(
                f"cannot read key {name}: {error.strerror or error}", key=option
            ) from None
        try:
            key = load_public_key(pem, source=name)
        except InputError as error:
            raise rule.error(str(error), key=option) from None
        keys.append(TrustedKey(name, key, fingerprint(key)))
    return tuple(keys)


def key_names(keys: tuple[TrustedKey, ...]) -> str:
    """``a.pub`` or ``any of a.pub, b.pub`` for messages."""
    names = [k.name for k in keys]
    return names[0] if len(names) == 1 else "any of " + ", ".join(names)


def _check_signed(
    facts: ImageFacts, keys: tuple[TrustedKey, ...], _ctx: RuleContext
) -> list[Verdict]:
    digest = facts.digest
    checks = []
    for trusted in keys:
        found = verify_signatures(facts.signatures, digest, trusted.key)
        good = sorted({c.source for c in found if c.verified})
        if good:
            where = ", ".join(good)
            return [Verdict(True, f"signed with {trusted.describe()} (found by {where})")]
        checks.extend(found)
    if not checks:
        return [Verdict(False, "no cosign signature found (tag sha256-<hex>.sig or referrers)")]
    reasons = "; ".join(dict.fromkeys(c.reason for c in checks))
    return [Verdict(False, f"no valid signature with {key_names(keys)}: {reasons}")]


SIGNED_RULE = RuleSpec(
    "signed",
    "A cosign signature made with the given public key (or one of 'keys') must be attached.",
    ("key", "keys"),
    parse_keys,
    _check_signed,
)
