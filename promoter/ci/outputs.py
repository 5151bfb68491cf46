"""Step outputs, made from the JSON document a command prints with ``--output json``.

The same values go to GitHub (``$GITHUB_OUTPUT``, names with dashes) and to
Azure DevOps (output variables, camelCase names):

| GitHub          | Azure DevOps   | value                                              |
|-----------------|----------------|----------------------------------------------------|
| ``result``      | ``result``     | ``succeeded``, ``refused`` or ``failed``           |
| ``digest``      | ``digest``     | the staging digest, when the run has one image     |
| ``digests``     | ``digests``    | JSON: image -> staging digest                      |
| ``tags``        | ``tags``       | ``host/repo:tag`` lines, as metadata-action gives  |
| ``promoted-refs`` | ``promotedRefs`` | JSON: image -> ``host/repo@digest`` list         |
| ``report``      | ``report``     | the path of the JSON report file                   |
| ``plan``        | ``plan``       | the path of the plan file (``plan``)               |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from promoter.structs import field, struct

__all__ = ["AZURE_NAMES", "StepOutputs", "result_word", "step_outputs"]

#: GitHub's output names -> Azure DevOps variable names (``^[A-Za-z][A-Za-z0-9]*$``).
AZURE_NAMES = {
    "result": "result",
    "digest": "digest",
    "digests": "digests",
    "tags": "tags",
    "promoted-refs": "promotedRefs",
    "report": "report",
    "plan": "plan",
}

_PROMOTED = ("promoted", "up-to-date", "rolled-back")
_LANDED = ("copy", "tag", "noop")


def result_word(exit_code: int) -> str:
    """``succeeded`` (0), ``refused`` (1: policy or tag conflict), ``failed`` (anything else)."""
    return {0: "succeeded", 1: "refused"}.get(exit_code, "failed")


@struct
class StepOutputs:
    """What a command's document yields for the service (all values strings once rendered)."""

    result: str
    digests: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    promoted_refs: dict[str, list[str]] = field(default_factory=dict)
    report: str = ""
    plan: str = ""

    def as_github(self) -> dict[str, str]:
        """The outputs under GitHub's names, in a stable order."""
        only = next(iter(self.digests.values())) if len(self.digests) == 1 else ""
        return {
            "result": self.result,
            "digest": only,
            "digests": json.dumps(self.digests, sort_keys=True),
            "tags": "\n".join(self.tags),
            "promoted-refs": json.dumps(self.promoted_refs, sort_keys=True),
            "report": self.report,
            "plan": self.plan,
        }

    def as_azure(self) -> dict[str, str]:
        """The outputs under Azure DevOps' variable names."""
        return {AZURE_NAMES[name]: value for name, value in self.as_github().items()}


def _run_outputs(document: Mapping[str, Any], out: StepOutputs) -> None:
    plan = document.get("plan") or {}
    for image in plan.get("images") or []:
        if image.get("digest"):
            out.digests[str(image["image"])] = str(image["digest"])
    for image in (document.get("build") or {}).get("images") or []:
        _build_image(image, out)
    for entry in document.get("tags") or []:
        staging = entry.get("staging")
        out.tags += [f"{staging}:{name}" for name in entry.get("tagNames") or [] if staging]
    promotion = document.get("promotion") or {}
    landed = {str(i["image"]) for i in promotion.get("images") or [] if i["status"] in _PROMOTED}
    for image in plan.get("images") or []:
        name, digest = str(image["image"]), image.get("digest")
        if name not in landed or not digest:
            continue
        destinations = [
            a["destination"] for a in image.get("actions") or [] if a["action"] in _LANDED
        ]
        refs = sorted({f"{d}@{digest}" for d in destinations})
        if refs:
            out.promoted_refs[name] = refs


def _build_image(image: Mapping[str, Any], out: StepOutputs) -> None:
    name = str(image.get("image"))
    index = image.get("index")
    builds = [b for b in image.get("builds") or [] if b.get("digest")]
    if index and index.get("digest"):
        out.digests[name] = str(index["digest"])
    elif len(builds) == 1:
        out.digests[name] = str(builds[0]["digest"])


def step_outputs(
    document: Mapping[str, Any], kind: str, exit_code: int, *, report: str = "", plan: str = ""
) -> StepOutputs:
    """The outputs of a command's ``document`` of ``kind`` (run, check, build, tags, ...)."""
    out = StepOutputs(result_word(exit_code), report=report, plan=plan)
    if kind == "run":
        _run_outputs(document, out)
    elif kind == "check" and document.get("digest"):
        out.digests[str(document.get("reference") or "image")] = str(document["digest"])
    elif kind in ("build", "tags"):
        for image in document.get("images") or []:
            _build_image(image, out)
            out.tags += [str(t) for t in image.get("tags") or []]
    elif kind == "copy" and document.get("digest"):
        out.digests[str(document.get("destination") or "image")] = str(document["digest"])
    return out
