"""The policy stage: rules evaluated on an image as it is in the registry, by digest.

    declared rules (pipeline.yml / --policy) ─compile_rules─▶ CompiledRule
    registry ─gather_facts/fetch_facts─▶ facts document (redacted JSON) ─evaluate─▶ CheckReport
    CheckReport ─render─▶ text | json | sarif | markdown

``check_image`` does all of it for ``promoter check``; the pipeline can call the
pieces (``fetch_facts`` once per image, ``evaluate`` with the pipeline's rules).
Heavy libraries (httpx, jsonschema, cryptography) load only when used.
"""

from __future__ import annotations

from promoter.policy.declared import PolicyRule, load_policy_file, parse_policies
from promoter.policy.engine import evaluate
from promoter.policy.facts import gather_facts
from promoter.policy.facts_doc import Facts, load_facts, write_facts
from promoter.policy.formats import FORMATS, render
from promoter.policy.imagecheck import CheckRequest, check_image, fetch_facts, pipeline_rules
from promoter.policy.results import CheckReport, RuleResult
from promoter.policy.rules import RULES, CompiledRule, RuleContext, compile_rules

__all__ = [
    "FORMATS",
    "RULES",
    "CheckReport",
    "CheckRequest",
    "CompiledRule",
    "Facts",
    "PolicyRule",
    "RuleContext",
    "RuleResult",
    "check_image",
    "compile_rules",
    "evaluate",
    "fetch_facts",
    "gather_facts",
    "load_facts",
    "load_policy_file",
    "parse_policies",
    "pipeline_rules",
    "render",
    "write_facts",
]
