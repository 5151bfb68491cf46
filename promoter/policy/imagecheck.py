"""``check_image``: the policy stage for one image, from declared rules to a report.

Rules come from a policy file (``--policy``) or a pipeline file (``-f``);
facts are gathered from the registry by digest (or read from a saved facts
document, offline); the report holds one result per rule and platform.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.config import load_pipeline
from promoter.environment import snapshot
from promoter.errors import InputError, PromoterError
from promoter.oci.reference import Reference, parse_reference
from promoter.policy.declared import PolicyRule, load_policy_file
from promoter.policy.engine import evaluate
from promoter.policy.facts import gather_facts
from promoter.policy.facts_doc import Facts, load_facts, write_facts
from promoter.policy.results import CheckReport
from promoter.policy.rules import RuleContext, compile_rules
from promoter.settings import Settings
from promoter.structs import field, struct

if TYPE_CHECKING:
    from promoter.config import Pipeline
    from promoter.registry.access.options import RegistryOptions

__all__ = ["CheckRequest", "check_image", "fetch_facts", "pipeline_rules"]


@struct(frozen=True)
class CheckRequest:
    """What ``promoter check`` was asked: the image (or saved facts), the rules, the options."""

    reference: str | None = None
    policy_file: str | None = None
    pipeline_file: str | None = None
    facts_file: str | None = None
    facts_out: str | None = None
    insecure_registries: tuple[str, ...] = ()
    ca_file: str | None = None
    now: datetime | None = field(default=None, compare=False)
    #: The git commit being promoted (the provenance rule); None: the checkout's, if any.
    commit: str | None = None
    #: The run's settings (None: those of this process's environment).
    settings: Settings | None = field(default=None, compare=False)


def pipeline_rules(pipeline: Pipeline) -> list[PolicyRule]:
    """A loaded pipeline's policies as declared rules, each with its file and line."""
    return [
        PolicyRule(
            rule.rule,
            rule.mode,
            dict(rule.options),
            str(pipeline.file),
            rule.line or None,
            rule.index,
        )
        for rule in pipeline.policies
    ]


def _registry_options(request: CheckRequest, pipeline: Pipeline | None) -> RegistryOptions:
    # here, not at the top: ssl, socket into a saved-facts check (+52 modules, 26 ms)
    from promoter.registry.access.options import RegistryOptions, configs_from_settings

    configs = configs_from_settings(pipeline.registry_settings()) if pipeline is not None else []
    settings = request.settings or Settings.from_environ(snapshot())
    return RegistryOptions.from_settings(
        settings,
        insecure_registries=request.insecure_registries,
        ca_file=request.ca_file,
        registries=configs,
    )


def fetch_facts(reference: str, options: RegistryOptions | None = None) -> Facts:
    """Gather the facts of a registry reference; the request count goes in ``gathered``."""
    # here, not at the top: registry client into a saved-facts check (+52 modules, 28 ms)
    from promoter.registry.remote.client import RegistryClient

    parsed = parse_reference(reference)
    if not isinstance(parsed, Reference):
        raise InputError(
            f"{reference}: 'promoter check' reads images in a registry",
            hint="push it first, or check a saved facts document with --facts",
        )
    with RegistryClient(parsed.api_host, options) as client:
        facts = gather_facts(client, parsed)
        facts["gathered"]["requests"] = client.transport.stats.requests
    return facts


def _rules(request: CheckRequest) -> tuple[list[PolicyRule], Pipeline | None]:
    if request.policy_file and request.pipeline_file:
        raise InputError("give --policy FILE or -f PIPELINE, not both")
    if request.policy_file:
        return load_policy_file(request.policy_file), None
    file = request.pipeline_file or "pipeline.yml"
    if not Path(file).is_file():
        raise InputError(
            f"{file}: no such file",
            hint="take rules from a pipeline file (-f pipeline.yml) or a policy file (--policy FILE)",
        )
    pipeline = load_pipeline(file)
    return pipeline_rules(pipeline), pipeline


def _promoted_commit(request: CheckRequest, pipeline: Pipeline | None) -> str | None:
    """The commit a provenance must name: ``--commit``, else the git context of the
    pipeline's folder (or the working folder), as ``promoter run`` sees it; None without."""
    if request.commit:
        return request.commit
    # here, not at the top: tagging, for a provenance rule only (+26 modules, 26 ms)
    from promoter.tagging import detect_context

    where = pipeline.base_dir if pipeline is not None else Path(".")
    try:
        context, _ = detect_context(where)
    except PromoterError:
        return None
    return context.sha or None


def check_image(request: CheckRequest) -> CheckReport:
    """Check one image (or saved facts) against the declared rules; never raises on a failed rule.

    Bad input (rules, references, files) raises ``InputError``/``ConfigError``
    before any registry is read; registry failures raise ``OperationError``s.
    """
    if (request.reference is None) == (request.facts_file is None):
        raise InputError("give an image reference REF, or saved facts with --facts FILE (not both)")
    declared, pipeline = _rules(request)
    compiled = compile_rules(declared)
    if request.facts_file is not None:
        facts = load_facts(request.facts_file)
    else:
        assert request.reference is not None
        facts = fetch_facts(request.reference, _registry_options(request, pipeline))
    if request.facts_out:
        write_facts(request.facts_out, facts)
    commit = None
    if any(rule.spec.name == "provenance" for rule in compiled):
        commit = _promoted_commit(request, pipeline)
    context = RuleContext(commit=commit, **({"now": request.now} if request.now else {}))
    report = evaluate(compiled, facts, context)
    report.facts_file = request.facts_out
    return report
