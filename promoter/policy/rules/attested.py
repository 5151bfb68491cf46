"""The rule on what is attested about an image's origin: provenance.

``provenance``: an in-toto Statement v1 with an SLSA Provenance v1 predicate, in a
DSSE envelope of the in-toto payload type attached to the image (cosign's
``sha256-<hex>.att`` tag or an OCI referrer), that verifies with a trusted key, names
this digest as its subject, was built from the commit being promoted, from a source
repository and by a builder matching the given globs. The git source is read as
promoter writes it (``promoter.signing.statement``/``provenance``): the resolved
dependency with a ``gitCommit`` digest, its URI ``git+<url>@<ref>``;
``externalParameters.source`` when no dependency names the URL.

A signed payload is read with the one strict JSON reader (a duplicate key is
refused: two readers could take two different subjects out of it). The
``vulnerabilities`` rule is in ``promoter.policy.rules.vulnerabilities``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promoter.policy.attachedfacts import AttestationFacts
from promoter.policy.attestations import strict_object
from promoter.policy.declared import PolicyRule
from promoter.policy.imagefacts import ImageFacts
from promoter.policy.results import Verdict
from promoter.policy.rules.base import RuleContext, RuleSpec
from promoter.policy.rules.signed import TrustedKey, key_names, parse_keys
from promoter.signing.dsse import INTOTO_PAYLOAD_TYPE, Envelope, EnvelopeError, verify_envelope
from promoter.structs import struct

__all__ = [
    "ATTESTED_RULES",
    "SLSA_PROVENANCE_V1",
    "names_digest",
    "source_of",
    "unreadable_attestations",
    "verified_statement",
]

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
_STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
_COMMIT_KEYS = ("gitCommit", "sha1")


@struct(frozen=True)
class _Provenance:
    keys: tuple[TrustedKey, ...]
    source: str
    builder: str | None


def _glob(rule: PolicyRule, key: str, *, required: bool) -> str | None:
    value = rule.options.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise rule.error(
            f"rule 'provenance' needs '{key}': a glob such as 'https://github.com/acme/*'", key=key
        )
    return value


def _parse_provenance(rule: PolicyRule, base: Path) -> _Provenance:
    keys = parse_keys(rule, base)
    return _Provenance(
        keys, str(_glob(rule, "source", required=True)), _glob(rule, "builder", required=False)
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def verified_statement(
    envelope: Envelope | EnvelopeError, keys: tuple[TrustedKey, ...]
) -> tuple[Mapping[str, object] | None, TrustedKey | None, str]:
    """``(the signed statement, the key that verified it, "")``, or ``(None, key or None,
    why not)``: the key is given when a trusted key signed what is refused (an envelope of
    another payload type, a payload that is not strict JSON)."""
    reason = f"attestation does not verify with {key_names(keys)} "
    reason += "(an untrusted key, or a tampered payload)"
    if isinstance(envelope, EnvelopeError):
        return None, None, str(envelope) if envelope.part == "payloadType" else reason
    problem = envelope.type_problem()
    # Of another type, it is refused; verified with its own type, the message says who signed.
    own_type = envelope.payload_type if problem else INTOTO_PAYLOAD_TYPE
    verified = verify_envelope(envelope, [k.key for k in keys], payload_type=own_type)
    if verified is None:
        return None, None, problem or reason
    payload, fingerprint = verified
    key = next(k for k in keys if k.fingerprint == fingerprint)
    if problem is not None:
        return None, key, problem
    statement, problem = strict_object(payload, "the signed payload")
    return (None, key, problem) if problem is not None else (statement, key, "")


def names_digest(statement: Mapping[str, Any], digest: str) -> bool:
    """Whether one of the statement's subjects is ``digest``."""
    algorithm, _, hexdigest = digest.partition(":")
    subjects = [_mapping(s) for s in statement.get("subject") or []]
    return any(_mapping(s.get("digest")).get(algorithm) == hexdigest for s in subjects)


def unreadable_attestations(facts: ImageFacts) -> list[AttestationFacts]:
    """The attestations whose statement cannot be read (their ``problem`` says why):
    another payload type, a payload that is not strict JSON, an envelope too large to read."""
    return [entry for entry in facts.attestations if entry.problem is not None]


def source_of(predicate: Mapping[str, object]) -> tuple[str | None, str | None]:
    """``(source URI, git commit)`` of an SLSA v1 predicate, as promoter writes them."""
    definition = _mapping(predicate.get("buildDefinition"))
    uri = commit = None
    dependencies = [_mapping(d) for d in definition.get("resolvedDependencies") or []]
    # promoter's own entry is named "source"; any git-commit entry will do otherwise.
    dependencies.sort(key=lambda d: d.get("name") != "source")
    for dependency in dependencies:
        digest = _mapping(dependency.get("digest"))
        found = next((digest[k] for k in _COMMIT_KEYS if isinstance(digest.get(k), str)), None)
        if found:
            commit, uri = found, dependency.get("uri") or None
            break
    parameters = _mapping(definition.get("externalParameters"))
    if not uri:
        workflow = _mapping(parameters.get("workflow"))  # GitHub's buildType
        uri = parameters.get("source") or workflow.get("repository") or None
    return (uri if isinstance(uri, str) else None), commit


def _spellings(uri: str) -> set[str]:
    """A source URI as written, without ``git+``, without its ``@ref``, without ``.git``."""
    names = {uri}
    bare = uri.removeprefix("git+")
    names.add(bare)
    scheme, sep, rest = bare.partition("://")
    path = rest if sep else bare
    if "@" in path.partition("/")[2]:
        bare = (scheme + sep if sep else "") + path.rpartition("@")[0]
        names.add(bare)
    names.add(bare.removesuffix(".git"))
    return names


def _same_commit(attested: str, promoted: str) -> bool:
    a, b = attested.lower(), promoted.lower()
    return len(min(a, b, key=len)) >= 7 and (a.startswith(b) or b.startswith(a))


def _judge_statement(
    statement: Mapping[str, Any], facts: ImageFacts, settings: _Provenance, ctx: RuleContext
) -> tuple[list[str], str]:
    """The problems of one verified statement, and a description of what it says."""
    digest = facts.digest
    problems = []
    if not names_digest(statement, digest):
        subjects = [_mapping(s) for s in statement.get("subject") or []]
        named = ", ".join(
            f"{k}:{v}" for s in subjects for k, v in _mapping(s.get("digest")).items()
        )
        problems.append(f"attestation for another digest ({named or 'no subject'}), not {digest}")
    predicate = _mapping(statement.get("predicate"))
    uri, commit = source_of(predicate)
    if commit is None:
        problems.append("the provenance names no git commit")
    elif ctx.commit is None:
        problems.append(
            f"commit {commit[:12]} cannot be compared: no git commit is being promoted "
            "(run in the git checkout, or pass --commit)"
        )
    elif not _same_commit(commit, ctx.commit):
        problems.append(
            f"built from another commit ({commit[:12]}), not the one promoted ({ctx.commit[:12]})"
        )
    if uri is None:
        problems.append("the provenance names no source repository")
    elif not any(fnmatch.fnmatchcase(n, settings.source) for n in _spellings(uri)):
        problems.append(f"source {uri!r} is outside the pattern {settings.source!r}")
    builder = _mapping(_mapping(predicate.get("runDetails")).get("builder")).get("id")
    if settings.builder is not None:
        if not isinstance(builder, str):
            problems.append("the provenance names no builder id")
        elif not fnmatch.fnmatchcase(builder, settings.builder):
            problems.append(f"builder id {builder!r} is outside the pattern {settings.builder!r}")
    said = f"commit {str(commit)[:12]} of {uri}, builder {builder}"
    return problems, said


def _judge(
    envelope: Envelope | EnvelopeError, facts: ImageFacts, settings: _Provenance, ctx: RuleContext
) -> tuple[list[str], str]:
    statement, key, problem = verified_statement(envelope, settings.keys)
    if statement is None or key is None:
        return [problem], ""
    if statement.get("predicateType") != SLSA_PROVENANCE_V1 or (
        statement.get("_type") not in _STATEMENT_TYPES
    ):
        return ["the signed payload is not an in-toto SLSA Provenance v1 statement"], ""
    problems, said = _judge_statement(statement, facts, settings, ctx)
    return problems, f"verified with {key.describe()}: {said}"


def _check_provenance(facts: ImageFacts, settings: _Provenance, ctx: RuleContext) -> list[Verdict]:
    candidates = [
        (entry, entry.envelope)
        for entry in facts.attestations
        if entry.envelope is not None and entry.predicate_type == SLSA_PROVENANCE_V1
    ]
    unread = [f"{e.digest} ({e.source}): {e.problem}" for e in unreadable_attestations(facts)]
    tail = f" (unreadable: {'; '.join(unread)})" if unread else ""
    if not candidates:
        return [
            Verdict(
                False,
                "no provenance attestation: no SLSA provenance in cosign's sha256-<hex>.att "
                f"tag or in an in-toto referrer{tail}",
            )
        ]
    reasons: list[str] = []
    for entry, envelope in candidates:
        problems, said = _judge(envelope, facts, settings, ctx)
        if not problems:
            return [Verdict(True, f"provenance ({entry.source}) {said}")]
        reasons.extend(f"{p} ({entry.source})" for p in problems)
    return [Verdict(False, "; ".join(dict.fromkeys(reasons)) + tail)]


ATTESTED_RULES = (
    RuleSpec(
        "provenance",
        "A signed SLSA provenance attestation of this digest, from this commit, a source and "
        "a builder matching the globs.",
        ("key", "keys", "source", "builder"),
        _parse_provenance,
        _check_provenance,
    ),
)
