"""A plan file is bound to its pipeline file: ``apply`` writes only what the file's rules produce.

A plan handed between CI jobs is an artifact that whoever can write it may
edit. Before a plan file is applied (``apply``, ``--shard``, ``--finish``),
:func:`bind_plan`:

1. finds the pipeline file: ``-f``, else the path the plan records (relative
   to the working directory when the file was below it, else absolute), which
   must resolve inside the checkout apply runs in (``GITHUB_WORKSPACE``,
   ``BUILD_SOURCESDIRECTORY``, else the git work tree of the working
   directory, else the working directory): a plan does not choose its file; a
   missing file or one outside is bad input (exit 2);
2. refuses the plan when the file's SHA-256 is not the one recorded (exit 1);
   then refuses a plan made at another git context than this job's (exit 1):
   on a CI service the plan's ref and commit must be the job's own, elsewhere
   the plan's commit must be the HEAD of the checkout holding the file (when
   it is in one);
3. loads the file, and for each image that writes or signs: the image must be
   declared and read from its staging repository (exit 2, as before);
4. derives the image's destination tags and signatures from the file's
   promote rules at the plan's git context (the tags from the tag rules, not
   the plan's list), and refuses (exit 1, :class:`UnboundPlanError`) any copy,
   tag or signature no rule produces, a tag whose mutability is not the
   rule's, a write that would move an immutable tag, and a staging tag (where
   the digest was read, which ``apply`` reads again) other than the rules';
5. takes everything that says *where* and *with which credentials* from the
   file: the registries' hosts, transport and auth settings replace the plan's,
   and each signature's key source is its rule's.

The policies are checked again on each planned digest before anything is
written (``promoter.pipeline.rechecks``), not read from the plan.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from promoter.ci.service import AZURE_DEVOPS, GITHUB, detect_service
from promoter.config import Image, Pipeline, load_pipeline
from promoter.config.model import SigningConfig
from promoter.environment import snapshot
from promoter.errors import InputError, RefusedError
from promoter.pipeline.planning import (
    PlanInputs,
    context_from_plan,
    pipeline_digest,
    sign_targets,
    tag_targets,
)
from promoter.pipeline.settings import registry_hosts
from promoter.promote.classify import TagTarget
from promoter.promote.plan import ImagePlan, PromotionPlan, TagAction
from promoter.tagging.azure import azure_context
from promoter.tagging.github import github_context
from promoter.tagging.localgit import checkout_head
from promoter.tagging.stage import image_metadata
from promoter.untrusted import one_line

__all__ = ["UnboundPlanError", "bind_plan", "bound_pipeline", "checkout_root"]

_REPLAN = "make the plan again with 'promoter plan --out plan.json' and review it"


class UnboundPlanError(RefusedError):
    """The plan does something its pipeline file does not produce (or the file changed)."""


def _service(env: Mapping[str, str]) -> str:
    try:
        return detect_service(env)
    except ValueError as bad:
        raise InputError(str(bad)) from None


def checkout_root(env: Mapping[str, str]) -> Path:
    """The checkout ``apply`` runs in: the CI service's workspace, else the git work tree
    of the working directory, else the working directory."""
    service = _service(env)
    named = {GITHUB: "GITHUB_WORKSPACE", AZURE_DEVOPS: "BUILD_SOURCESDIRECTORY"}.get(service)
    if named and env.get(named):
        return Path(env[named])
    found = checkout_head(os.getcwd())
    return found[0] if found else Path.cwd()


def _pipeline_path(
    pipeline: Mapping[str, str], where: str, pipeline_file: str | None, env: Mapping[str, str]
) -> str:
    recorded = pipeline.get("path")
    if not recorded or not pipeline.get("sha256"):
        raise InputError(
            f"{where}: the plan names no pipeline file digest (made by an older promoter)",
            hint="make the plan again with 'promoter plan --out plan.json'",
        )
    if pipeline_file is None:
        root = os.path.realpath(checkout_root(env))
        resolved = os.path.realpath(recorded)
        if os.path.commonpath([root, resolved]) != root:
            raise InputError(
                f"{where}: the plan's pipeline file {one_line(recorded)!r} is outside "
                f"{root}, the checkout apply runs in: a plan does not choose its pipeline file",
                hint="give the checkout's pipeline file with -f",
            )
    path = pipeline_file or recorded
    if not os.path.isfile(path):
        raise InputError(
            f"the plan's pipeline file {one_line(path)!r} is not there: the plan cannot be "
            "checked against it",
            hint="apply in the folder the plan was made in, or give the file with -f",
        )
    return path


def _at(ref: str, sha: str) -> str:
    return f"{one_line(ref) or 'no ref'} ({one_line(sha[:7]) or 'no commit'})"


def _check_context(
    plan: PromotionPlan, where: str, pipeline: Pipeline, env: Mapping[str, str]
) -> None:
    """The plan's git context must be this job's (CI), or the checkout's HEAD (elsewhere)."""
    ref, sha = str(plan.context.get("ref") or ""), str(plan.context.get("sha") or "")
    service = _service(env)
    if service in (GITHUB, AZURE_DEVOPS):
        job = github_context(env) if service == GITHUB else azure_context(env)
        if (job.ref, job.sha) != (ref, sha):
            raise UnboundPlanError(
                f"{where} was made at {_at(ref, sha)}, this job runs at "
                f"{_at(job.ref, job.sha)}; make the plan in this run",
                detail="nothing was written",
            )
        return
    found = checkout_head(pipeline.base_dir)
    if found is not None and found[1] != sha:
        top, head = found
        raise UnboundPlanError(
            f"{where} was made at commit {one_line(sha[:7]) or '(none)'}, the checkout "
            f"{top} is at {head[:7] or '(no commit)'}; make the plan again from this checkout",
            detail="nothing was written",
        )


def bound_pipeline(
    recorded: Mapping[str, str],
    where: str,
    pipeline_file: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[str, Pipeline]:
    """The pipeline file a plan (read from ``where``) records, its path and the pipeline: the
    one given with ``-f``, else the recorded path, which must be in this checkout (``env``:
    the process environment by default); refused (``UnboundPlanError``) when its bytes are
    not the ones the plan was made from."""
    env = snapshot() if env is None else env
    path = _pipeline_path(recorded, where, pipeline_file, env)
    now = pipeline_digest(path)
    if now != recorded["sha256"]:
        raise UnboundPlanError(
            f"{where} was made from {path} with {recorded['sha256']}, the file now has {now}; "
            "make the plan again",
            detail="nothing was written",
        )
    return path, load_pipeline(path)


def bind_plan(
    plan: PromotionPlan,
    where: str,
    pipeline_file: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Pipeline:
    """Check ``plan`` (read from the file ``where``) against its pipeline file and this
    job's git context (``env``: the process environment by default); return the
    pipeline, with the plan's registry settings and signing keys replaced by the file's."""
    env = snapshot() if env is None else env
    path, pipeline = bound_pipeline(plan.pipeline, where, pipeline_file, env)
    if plan.kind == "rollback":
        # A rollback's tag is the one its rule writes whatever the git context (its `when`
        # is not asked): promote.rollback.check_rollback_plan holds it to that file's rules.
        plan.registries = registry_hosts(pipeline)
        plan.file = str(pipeline.file)
        return pipeline
    _check_context(plan, where, pipeline, env)
    working = [image for image in plan.images if image.writes or image.to_sign]
    declared = {image.image: _declared(pipeline, image, path) for image in working}
    git, repository, clock = context_from_plan(plan.context)
    inputs = PlanInputs(pipeline, git, repository, clock, {}, check=False)
    problems: list[str] = []
    for image in working:
        problems += _image_problems(image, declared[image.image], inputs, where, path)
    if problems:
        raise UnboundPlanError(
            f"{problems[0]}; nothing was written",
            detail="\n".join(f"  {p}" for p in problems[1:]) or None,
            hint=_REPLAN,
        )
    plan.registries = registry_hosts(pipeline)
    plan.file = str(pipeline.file)  # what the records name: the file the plan was checked with
    return pipeline


def _declared(pipeline: Pipeline, image: ImagePlan, path: str) -> Image:
    """The pipeline's image, read from its staging repository (``InputError`` else)."""
    declared = pipeline.images.get(image.image)
    if declared is None:
        raise InputError(
            f"{image.image}: no such image in {path}, the plan's pipeline",
            hint="plan again from the pipeline file",
        )
    staging = f"{declared.staging.host}/{declared.staging.repository}"
    if image.source != staging:
        raise InputError(
            f"{image.image}: the plan's source {image.source} is not the image's "
            f"staging repository {staging} in {path}",
            hint="plan again from the pipeline file",
        )
    return declared


def _image_problems(
    image: ImagePlan, declared: Image, inputs: PlanInputs, where: str, path: str
) -> list[str]:
    """What the image's writes and signatures do that the file's rules do not produce."""
    meta = image_metadata(declared, inputs.context, inputs.repository, now=inputs.now)
    targets = [t for t in tag_targets(declared, meta, inputs) if t.applies]
    produced = {(t.destination.name, t.tag): t for t in targets}
    repositories = {t.destination.name for t in targets}
    at = f"{where}: image {image.image}"
    rules = f"{path}'s promote rules" + (f" at {inputs.context.ref}" if inputs.context.ref else "")
    problems: list[str] = []
    first = meta.tag_names[0] if meta.tag_names else None
    if image.staging_tag != first:
        problems.append(
            f"{at}: the plan reads its digest at staging tag {_tag(image.staging_tag)}, "
            f"{path}'s tag rules name {_tag(first)}"
        )
    for action in image.writes:
        target = produced.get((action.destination, action.tag))
        if action.destination not in repositories:
            problems.append(
                f"{at}: destination {action.destination} is not a repository {rules} promote to"
            )
        elif target is None:
            problems.append(
                f"{at}: tag {action.tag!r} for {action.destination} is not produced by {rules}"
            )
        else:
            problems += _tag_problems(image, action, target, at, path)
    problems += _sign_problems(image, declared, inputs, at, rules)
    return problems


def _tag(tag: str | None) -> str:
    return "none" if tag is None else repr(one_line(tag))


def _tag_problems(
    image: ImagePlan, action: TagAction, target: TagTarget, at: str, path: str
) -> list[str]:
    """A produced tag written as the rule says: its mutability, and no immutable tag moved."""
    where = f"tag {action.tag!r} for {action.destination}"
    if action.mutable != target.mutable:
        said = "mutable" if target.mutable else "immutable"
        return [f"{at}: {where} is {said} in {path}, not as the plan says"]
    if not target.mutable and action.current is not None and action.current != image.digest:
        return [f"{at}: the plan moves the immutable {where} from {action.current}"]
    return []


def _sign_problems(
    image: ImagePlan, declared: Image, inputs: PlanInputs, at: str, rules: str
) -> list[str]:
    """Each signature to make must be one a rule asks for; its key source becomes the rule's."""
    keys: dict[str, list[SigningConfig]] = {}
    for target in sign_targets(declared, inputs):
        if target.applies:
            keys.setdefault(target.destination.name, []).append(target.key)
    problems = []
    for action in image.to_sign:
        chosen = _key_for(action.key, keys.get(action.destination, []))
        if chosen is None:
            problems.append(
                f"{at}: a signature in {action.destination} is not asked for by {rules}"
            )
        else:
            action.key = chosen.settings()
    return problems


def _key_for(planned: Mapping[str, str], keys: Sequence[SigningConfig]) -> SigningConfig | None:
    """The rule key a planned signature names: the same source, else the only one there
    (a key file's absolute path differs between two checkouts of one repository)."""
    unique = list(dict.fromkeys(keys))
    for key in unique:
        if key.settings() == dict(planned):
            return key
    return unique[0] if len(unique) == 1 else None
