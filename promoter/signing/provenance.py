"""SLSA provenance of a promoter build: the facts of one image's build in, a statement out.

Pure: no registry, no git, no clock. The build stage gathers the facts
(:class:`BuildFacts`: the pipeline file and its digest, the image's build
settings, the git source, the base images resolved by digest, the executor,
the CI's builder and run, the times) and :func:`provenance_statement_for`
turns them into an in-toto Statement v1 whose predicate is SLSA Provenance v1
(see :mod:`promoter.signing.statement`), one subject per digest the image has in
staging (each platform's manifest, and the index when there is one).

Build arguments marked secret are left out by value: their names are listed
under ``withheldBuildArgs``. An argument is secret when the caller says so,
when its name reads like a credential (BuildKit's ``SecretsUsedInArgOrEnv``
words: ``password``, ``token``, ``secret``, ``key``, ``auth``, ...), or when its
value holds a secret this process registered (:mod:`promoter.redaction`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from urllib.parse import quote, urlsplit

from promoter.signing.statement import (
    LOCAL_BUILDER,
    BuildProvenance,
    Dependency,
    provenance_statement,
)
from promoter.structs import field, struct

__all__ = [
    "LOCAL_BUILDER",
    "NOTE_ANNOTATION",
    "UNRESOLVED_ANNOTATION",
    "BaseImage",
    "BuildFacts",
    "ExecutorImage",
    "SourceFacts",
    "builder_id",
    "image_uri",
    "provenance_statement_for",
    "secret_build_args",
]

#: The annotation on a base image that could not be resolved: why not.
UNRESOLVED_ANNOTATION = "dev.promoter.unresolved"
#: The annotation on a base image resolved only in part (an index without the platform).
NOTE_ANNOTATION = "dev.promoter.note"

#: BuildKit's SecretsUsedInArgOrEnv words, as whole ``_``-separated parts of a name.
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:apikey|api_key|auth|credential|credentials|key|passwd|password|pword|secret|token)(?:_|$)",
    re.IGNORECASE,
)


@struct(frozen=True)
class SourceFacts:
    """Where the build's source comes from: repository URL, commit, ref (``refs/heads/main``)."""

    url: str
    commit: str
    ref: str = ""

    @property
    def uri(self) -> str:
        """``git+https://host/org/repo@refs/heads/main`` (SLSA's form for a git source)."""
        if not self.url:
            return ""  # a checkout without a remote: the commit alone
        base = self.url if self.url.startswith("git+") else f"git+{self.url}"
        return f"{base}@{self.ref}" if self.ref else base


@struct(frozen=True)
class BaseImage:
    """A ``FROM`` image: as named, and what it resolved to (or why it did not).

    ``digest`` is what the reference names in the registry (an index for a
    multi-platform base); ``manifest_digest`` the platform's manifest in it.
    """

    reference: str
    digest: str | None = None
    platform: str | None = None
    manifest_digest: str | None = None
    problem: str | None = None


@struct(frozen=True)
class ExecutorImage:
    """The kaniko executor that ran the build: its image (or binary path) and digest if known."""

    reference: str
    digest: str | None = None
    kind: str = "image"  # image | binary


@struct(frozen=True)
class BuildFacts:
    """Everything the provenance of one image's build states."""

    image: str
    subjects: Sequence[tuple[str, str]]  # (repository, "sha256:<hex>")
    pipeline_path: str
    pipeline_digest: str  # "sha256:<hex>" of the pipeline file's bytes
    context: str = "."
    dockerfile: str = "Dockerfile"
    target: str | None = None
    platforms: Sequence[str] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    secret_args: Collection[str] = ()
    source: SourceFacts | None = None
    bases: Sequence[BaseImage] = ()
    executor: ExecutorImage | None = None
    builder_id: str = LOCAL_BUILDER
    builder_version: Mapping[str, str] = field(default_factory=dict)
    invocation_id: str | None = None
    started: datetime | None = None
    finished: datetime | None = None


@struct(frozen=True)
class _Resource(Dependency):
    """A resolved dependency with annotations (SLSA's ResourceDescriptor allows them)."""

    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        if not out["uri"]:
            del out["uri"]
        if not out["digest"]:
            del out["digest"]
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


def secret_build_args(
    args: Mapping[str, str], marked: Iterable[str] = (), secrets: Iterable[str] = ()
) -> frozenset[str]:
    """The names of ``args`` whose values a statement must not show.

    ``marked`` are names the caller knows are secret; ``secrets`` the values this
    process holds as secrets (any argument whose value contains one is secret).
    """
    known = [s for s in secrets if s]
    found = {name for name in marked if name in args}
    for name, value in args.items():
        if _SECRET_NAME.search(name) or any(s in value for s in known):
            found.add(name)
    return frozenset(found)


def _absolute_uri(value: str) -> str | None:
    """``value`` when it is an absolute http(s) URI with a host, else None."""
    parts = urlsplit(value)
    if parts.scheme in ("https", "http") and parts.netloc and " " not in value:
        return value
    return None


def _ci_builder_id(service: str, env: Mapping[str, str]) -> str | None:
    if service == "github":
        server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        repository = env.get("GITHUB_REPOSITORY", "").strip("/")
        workflow = env.get("GITHUB_WORKFLOW_REF", "").strip("/")
        if workflow:
            if repository and not workflow.startswith(f"{repository}/"):
                workflow = f"{repository}/{workflow}"
            return f"{server}/{quote(workflow, safe='/@')}"
        if repository:
            return f"{server}/{quote(repository, safe='/')}"
    if service == "azure-devops":
        collection = env.get("SYSTEM_COLLECTIONURI", "").rstrip("/")
        project = env.get("SYSTEM_TEAMPROJECT", "")
        definition = env.get("SYSTEM_DEFINITIONID", "")
        if collection and project and definition:
            return f"{collection}/{quote(project)}/_build?definitionId={quote(definition)}"
    return None


def builder_id(service: str, env: Mapping[str, str]) -> str:
    """``builder.id`` for the CI ``service`` (``github``, ``azure-devops``, ``none``): a URI.

    GitHub Actions: the workflow file at its ref, ``$GITHUB_SERVER_URL/`` +
    ``$GITHUB_WORKFLOW_REF`` (which starts with the repository); Azure DevOps: the
    pipeline definition's page; else (or when those variables do not make an absolute
    URI) :data:`LOCAL_BUILDER`.
    """
    found = _ci_builder_id(service, env)
    return (_absolute_uri(found) if found else None) or LOCAL_BUILDER


def image_uri(reference: str, platform: str | None = None) -> str:
    """A package URL for an image reference: ``pkg:docker/host/repo@tag?platform=os%2Farch``."""
    name, at, digest = reference.partition("@")
    version = quote(digest, safe="") if at else ""
    head, slash, last = name.rpartition("/")
    if ":" in last:
        last, _, tag = last.partition(":")
        name = f"{head}{slash}{last}"
        version = version or tag
    uri = f"pkg:docker/{name}"
    if version:
        uri += f"@{version}"
    if platform:
        uri += f"?platform={quote(platform, safe='')}"
    return uri


def _digest_map(digest: str | None) -> dict[str, str]:
    if not digest:
        return {}
    algorithm, _, hexdigest = digest.partition(":")
    return {algorithm: hexdigest}


def _base_dependency(base: BaseImage) -> _Resource:
    annotations: dict[str, str] = {"reference": base.reference}
    if base.platform:
        annotations["platform"] = base.platform
    if base.manifest_digest and base.manifest_digest != base.digest:
        annotations["manifestDigest"] = base.manifest_digest
    if base.digest is None:
        annotations[UNRESOLVED_ANNOTATION] = base.problem or "not resolved"
    elif base.problem:
        annotations[NOTE_ANNOTATION] = base.problem
    return _Resource(
        uri=image_uri(base.reference, base.platform),
        digest=_digest_map(base.digest),
        name="base-image",
        annotations=annotations,
    )


def _dependencies(facts: BuildFacts) -> list[Dependency]:
    found: list[Dependency] = []
    if facts.source is not None and facts.source.commit:
        found.append(_Resource(facts.source.uri, {"gitCommit": facts.source.commit}, name="source"))
    found.extend(_base_dependency(base) for base in facts.bases)
    executor = facts.executor
    if executor is not None:
        uri = image_uri(executor.reference) if executor.kind == "image" else executor.reference
        annotations = {} if executor.digest else {UNRESOLVED_ANNOTATION: "digest not known"}
        found.append(_Resource(uri, _digest_map(executor.digest), "kaniko-executor", annotations))
    return found


def _external_parameters(facts: BuildFacts) -> dict[str, object]:
    withheld = secret_build_args(facts.build_args, facts.secret_args)
    parameters: dict[str, object] = {
        "pipeline": {"path": facts.pipeline_path, "digest": _digest_map(facts.pipeline_digest)},
        "image": facts.image,
        "context": facts.context,
        "dockerfile": facts.dockerfile,
    }
    if facts.source is not None and facts.source.uri:
        parameters["source"] = facts.source.uri
    if facts.target:
        parameters["target"] = facts.target
    if facts.platforms:
        parameters["platforms"] = list(facts.platforms)
    parameters["buildArgs"] = {
        name: value for name, value in facts.build_args.items() if name not in withheld
    }
    if withheld:
        parameters["withheldBuildArgs"] = sorted(withheld)
    return parameters


def provenance_statement_for(facts: BuildFacts) -> dict[str, object]:
    """The in-toto Statement v1 (SLSA Provenance v1 predicate) of one image's build."""
    statement = provenance_statement(
        BuildProvenance(
            subjects=list(facts.subjects),
            parameters=_external_parameters(facts),
            dependencies=_dependencies(facts),
            builder_id=facts.builder_id,
            invocation_id=facts.invocation_id,
            started=facts.started,
            finished=facts.finished,
        )
    )
    if facts.builder_version:
        statement["predicate"]["runDetails"]["builder"]["version"] = dict(facts.builder_version)
    return statement
