"""The check stage: the pipeline's policies on a staging digest, as it is in the registry."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from promoter.oci import Reference
from promoter.policy.engine import evaluate
from promoter.policy.facts import gather_facts
from promoter.policy.imagecheck import pipeline_rules
from promoter.policy.results import CheckReport
from promoter.policy.rules import CompiledRule, RuleContext, compile_rules
from promoter.registry.remote.pool import Registries

if TYPE_CHECKING:
    from promoter.config import Pipeline

__all__ = ["PolicyChecker"]


class PolicyChecker:
    """Checks digests against one pipeline's rules (compiled once, shared clients)."""

    def __init__(
        self, pipeline: Pipeline, registries: Registries, now: datetime, commit: str | None = None
    ) -> None:
        self.rules: list[CompiledRule] = compile_rules(pipeline_rules(pipeline), pipeline.base_dir)
        self.registries = registries
        # ``commit``: the git context's, which a provenance attestation must name.
        self.context = RuleContext(now=now, commit=commit or None)

    def check(self, reference: Reference) -> CheckReport:
        """Every rule's results on ``reference`` (a staging repository at a digest)."""
        facts = gather_facts(self.registries.client(reference.registry), reference)
        return evaluate(self.rules, facts, self.context)
