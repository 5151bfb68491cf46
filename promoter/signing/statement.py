"""in-toto Statement v1 with an SLSA Provenance v1 predicate: how an image was built.

The statement's subject is the image digest (each platform's manifest and the
index, when there is one). The predicate records:

- ``buildDefinition``: promoter's ``buildType``; the external parameters (the
  pipeline file and its digest, the image, Dockerfile, target, platform and
  build arguments, without those marked secret); the resolved dependencies
  (the git repository and commit, the base images and the executor by digest);
- ``runDetails``: ``builder.id`` (a URI: the CI's workflow or pipeline, or
  :data:`LOCAL_BUILDER`),
  ``invocationId`` (the run's address), ``startedOn`` and ``finishedOn``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from promoter.structs import field, struct

__all__ = [
    "BUILD_TYPE",
    "LOCAL_BUILDER",
    "PROVENANCE_PREDICATE",
    "STATEMENT_TYPE",
    "BuildProvenance",
    "Dependency",
    "provenance_statement",
    "statement_bytes",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v1"
#: promoter's own build type: what ``externalParameters`` holds is promoter's to define.
BUILD_TYPE = "https://promoter.dev/build/kaniko/v1"
#: ``builder.id`` outside a CI service (or when the CI's variables do not make a URI).
#: SLSA Provenance v1 types ``builder.id`` as a TypeURI: an absolute URI with a scheme that
#: names the trusted build platform, here promoter run on a machine of its user. promoter's
#: own version goes in ``builder.version`` (``{"promoter": "<version>"}``), not in the id.
LOCAL_BUILDER = "https://promoter.dev/builder/local"


@struct(frozen=True)
class Dependency:
    """A resolved dependency: a URI and its digests (``{"sha256": hex}``, ``{"gitCommit": sha}``)."""

    uri: str
    digest: Mapping[str, str]
    name: str | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"uri": self.uri, "digest": dict(self.digest)}
        if self.name:
            out["name"] = self.name
        return out


@struct(frozen=True)
class BuildProvenance:
    """Everything a provenance statement says about one build."""

    subjects: Sequence[tuple[str, str]]  # (name, "sha256:<hex>")
    parameters: Mapping[str, object]
    dependencies: Sequence[Dependency] = ()
    builder_id: str = LOCAL_BUILDER
    invocation_id: str | None = None
    started: datetime | None = None
    finished: datetime | None = None
    internal: Mapping[str, object] = field(default_factory=dict)


def _digest(value: str) -> dict[str, str]:
    algorithm, _, hexdigest = value.partition(":")
    return {algorithm: hexdigest}


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def provenance_statement(build: BuildProvenance) -> dict[str, Any]:
    """The in-toto Statement (v1) of ``build``, SLSA Provenance v1 as its predicate."""
    metadata = {
        key: value
        for key, value in (
            ("invocationId", build.invocation_id),
            ("startedOn", _stamp(build.started)),
            ("finishedOn", _stamp(build.finished)),
        )
        if value
    }
    definition: dict[str, object] = {
        "buildType": BUILD_TYPE,
        "externalParameters": dict(build.parameters),
        "resolvedDependencies": [d.to_dict() for d in build.dependencies],
    }
    if build.internal:
        definition["internalParameters"] = dict(build.internal)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": _digest(digest)} for name, digest in build.subjects],
        "predicateType": PROVENANCE_PREDICATE,
        "predicate": {
            "buildDefinition": definition,
            "runDetails": {"builder": {"id": build.builder_id}, "metadata": metadata},
        },
    }


def statement_bytes(statement: Mapping[str, object]) -> bytes:
    """The statement as the DSSE payload (compact, keys in a stable order)."""
    return json.dumps(statement, separators=(",", ":"), sort_keys=True).encode("utf-8")
