"""The built-in policy rules: each parses its options, then judges a facts document.

A rule is a ``RuleSpec``: its name, the options it accepts, a ``parse``
function (options -> a typed settings object, raising ``ConfigError`` at the
declaration's line) and a ``check`` function (facts -> ``Verdict`` list).
``RULES`` maps each name to its spec; ``compile_rules`` parses every declared
rule before any registry is touched, so bad options exit 2 early.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from promoter.policy.declared import PolicyRule
from promoter.policy.rules.attested import ATTESTED_RULES
from promoter.policy.rules.base import RuleContext, RuleSpec
from promoter.policy.rules.content import CONTENT_RULES
from promoter.policy.rules.image import IMAGE_RULES
from promoter.policy.rules.provenance import PROVENANCE_RULES
from promoter.policy.rules.signed import SIGNED_RULE
from promoter.policy.rules.vulnerabilities import VULNERABILITIES_RULE
from promoter.structs import struct

__all__ = ["RULES", "CompiledRule", "RuleContext", "RuleSpec", "compile_rules"]

RULES: dict[str, RuleSpec] = {
    spec.name: spec
    for spec in (
        *IMAGE_RULES,
        *PROVENANCE_RULES,
        *CONTENT_RULES,
        SIGNED_RULE,
        *ATTESTED_RULES,
        VULNERABILITIES_RULE,
    )
}


@struct(frozen=True)
class CompiledRule:
    """A declared rule with its spec and parsed settings, ready to run on facts."""

    declared: PolicyRule
    spec: RuleSpec
    settings: object


def _suggest(name: str) -> str:
    close = difflib.get_close_matches(name, RULES, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return "known rules: " + ", ".join(sorted(RULES))


def compile_rules(rules: Sequence[PolicyRule], base_dir: Path | None = None) -> list[CompiledRule]:
    """Check every declared rule's name and options; paths resolve against ``base_dir``."""
    compiled: list[CompiledRule] = []
    for declared in rules:
        spec = RULES.get(declared.rule)
        if spec is None:
            raise declared.error(
                f"unknown rule {declared.rule!r}", key="rule", hint=_suggest(declared.rule)
            )
        unknown = sorted(set(declared.options) - set(spec.options))
        if unknown:
            allowed = ", ".join(spec.options) or "none"
            raise declared.error(
                f"unknown option {unknown[0]!r} for rule '{spec.name}'",
                key=unknown[0],
                hint=f"its options: {allowed}",
            )
        where = base_dir if base_dir is not None else Path(declared.file or ".").parent
        compiled.append(CompiledRule(declared, spec, spec.parse(declared, where)))
    return compiled
