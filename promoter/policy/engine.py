"""Running compiled rules on a facts document: outcomes become results by the rule's mode."""

from __future__ import annotations

from collections.abc import Sequence

from promoter.policy.facts_doc import Facts
from promoter.policy.imagefacts import read_image_facts
from promoter.policy.results import CheckReport, RuleResult, Verdict
from promoter.policy.rules import CompiledRule, RuleContext

__all__ = ["evaluate"]


def evaluate(
    rules: Sequence[CompiledRule], facts: Facts, context: RuleContext | None = None
) -> CheckReport:
    """Every rule's results on ``facts``; a failed rule is ``fail`` when enforced, else ``warn``."""
    context = context or RuleContext()
    image = read_image_facts(facts)
    report = CheckReport(reference=image.reference, digest=image.digest)
    for compiled in rules:
        declared = compiled.declared
        outcomes = compiled.spec.check(image, compiled.settings, context)
        if not outcomes:
            # A rule with nothing to judge must not pass silently (an artifact, no platforms).
            outcomes = [Verdict(False, "nothing to check: the reference has no image platform")]
        for outcome in outcomes:
            failed = "fail" if declared.mode == "enforce" else "warn"
            status = "pass" if outcome.passed else failed
            report.results.append(
                RuleResult(
                    declared.rule,
                    status,
                    outcome.message,
                    declared.mode,
                    outcome.platform,
                    declared.file,
                    declared.line,
                )
            )
    return report
