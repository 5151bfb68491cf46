"""A plan file is bound to its pipeline file, on real registries.

A plan handed between CI jobs is an artifact whoever can write it may edit.
Each plan here is made by ``promoter plan``, edited as such a writer would
(another destination, another tag, a mutable flag, a signature, the recorded
digest or path), then given to ``apply``, ``apply --shard`` or ``apply
--finish``: refused with one line naming what is not allowed, and the
production registries' storage holds nothing new. The same plan unedited
applies (exit 0).
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.promote.project import CLEAN_ENV, Project, head_digest
from tests.support.cli import run_cli
from tests.support.images import Image
from tests.support.registry import Registry

pytestmark = pytest.mark.registry

PASSWORD = "binding test pass phrase 9"
Edit = Callable[[dict[str, Any], Project], None]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(args, cwd=cwd, env={**CLEAN_ENV, "COSIGN_PASSWORD": PASSWORD})


def _plan(project: Project, code: int = 0) -> dict[str, Any]:
    """``promoter plan --out plan.json`` (exit 1 when it would be refused; written anyway)."""
    made = _cli("plan", "-f", "pipeline.yml", "--out", "plan.json", cwd=project.root)
    assert made.returncode == code, made.stderr
    document: dict[str, Any] = json.loads((project.root / "plan.json").read_text())
    return document


def _write(project: Project, document: dict[str, Any]) -> None:
    (project.root / "plan.json").write_text(json.dumps(document, indent=2))


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _repositories(registry: Registry) -> list[str]:
    """The repositories in the registry's storage (any blob link or manifest makes one)."""
    root = registry.storage / "docker" / "registry" / "v2" / "repositories"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def _untouched(project: Project) -> None:
    """Nothing at all in either production registry: no repository, no blob."""
    for registry in (project.prod_a, project.prod_b):
        assert _repositories(registry) == [], registry.host
        assert registry.blob_count() == 0, registry.host


def _tags(registry: Registry, repository: str = "web") -> list[str]:
    """The repository's tags but the referrers' fallback tags (``sha256-<hex>``)."""
    listed = httpx.get(f"{registry.url}/v2/{repository}/tags/list", timeout=30)
    if listed.status_code == 404:
        return []
    listed.raise_for_status()
    return sorted(t for t in listed.json().get("tags") or [] if not t.startswith("sha256-"))


def _applies_unedited(project: Project, document: dict[str, Any], image: Image) -> None:
    _write(project, document)
    applied = _cli("apply", "plan.json", cwd=project.root)
    assert applied.returncode == 0, applied.stderr
    for registry in (project.prod_a, project.prod_b):
        assert _tags(registry) == ["1.2.3", "latest"]
        assert head_digest(registry, "web", "1.2.3") == image.digest


def _writes(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in document["images"][0]["actions"] if a["action"] in ("copy", "tag")]


def _add_destination(document: dict[str, Any], project: Project) -> None:
    added = dict(_writes(document)[0], destination=f"{project.prod_b.host}/evil")
    document["images"][0]["actions"].append(added)


def _change_destination(document: dict[str, Any], project: Project) -> None:
    for action in _writes(document):
        action["destination"] = action["destination"].replace("/web", "/elsewhere")


def _add_tag(document: dict[str, Any], project: Project) -> None:
    document["images"][0]["actions"].append(dict(_writes(document)[0], tag="evil"))


def _rename_tag(document: dict[str, Any], project: Project) -> None:
    for action in _writes(document):
        if action["tag"] == "1.2.3":
            action["tag"] = "9.9.9"


def _immutable_made_mutable(document: dict[str, Any], project: Project) -> None:
    for action in _writes(document):
        action["mutable"] = True


def _skipped_made_a_copy(document: dict[str, Any], project: Project) -> None:
    for action in document["images"][0]["actions"]:
        if action["action"] == "skipped":  # edge on prod-a: when branch:main, false at a tag
            action["action"] = "copy"


def _sign_added(document: dict[str, Any], project: Project) -> None:
    document["images"][0]["signs"] = [
        {
            "destination": f"{project.prod_a.host}/web",
            "action": "sign",
            "fingerprint": "sha256:" + "0" * 64,
            "key": {"keyEnv": "ATTACKER_KEY", "passwordEnv": "ATTACKER_PASSWORD"},
        }
    ]


def _digest_edited(document: dict[str, Any], project: Project) -> None:
    document["pipeline"]["sha256"] = "sha256:" + "e" * 64


CASES: dict[str, tuple[Edit, str]] = {
    "added-destination": (
        _add_destination,
        "error: plan.json: image web: destination {b}/evil is not a repository "
        "pipeline.yml's promote rules at refs/tags/v1.2.3 promote to; nothing was written",
    ),
    "changed-destination": (
        _change_destination,
        "error: plan.json: image web: destination {a}/elsewhere is not a repository "
        "pipeline.yml's promote rules at refs/tags/v1.2.3 promote to; nothing was written",
    ),
    "added-tag": (
        _add_tag,
        "error: plan.json: image web: tag 'evil' for {a}/web is not produced by "
        "pipeline.yml's promote rules at refs/tags/v1.2.3; nothing was written",
    ),
    "renamed-tag": (
        _rename_tag,
        "error: plan.json: image web: tag '9.9.9' for {a}/web is not produced by "
        "pipeline.yml's promote rules at refs/tags/v1.2.3; nothing was written",
    ),
    "immutable-made-mutable": (
        _immutable_made_mutable,
        "error: plan.json: image web: tag '1.2.3' for {a}/web is immutable in pipeline.yml, "
        "not as the plan says; nothing was written",
    ),
    "skipped-rule-made-a-copy": (
        _skipped_made_a_copy,
        "error: plan.json: image web: tag 'edge' for {a}/web is not produced by "
        "pipeline.yml's promote rules at refs/tags/v1.2.3; nothing was written",
    ),
    "sign-added": (
        _sign_added,
        "error: plan.json: image web: a signature in {a}/web is not asked for by "
        "pipeline.yml's promote rules at refs/tags/v1.2.3; nothing was written",
    ),
    "recorded-digest-edited": (
        _digest_edited,
        "error: plan.json was made from pipeline.yml with sha256:" + "e" * 64 + ", "
        "the file now has {file}; make the plan again",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_edited_plan_is_refused_and_nothing_is_written(
    make_project: Callable[..., Project], case: str
) -> None:
    project = make_project()
    image = project.seed()
    planned = _plan(project)
    edit, says = CASES[case]
    edited = copy.deepcopy(planned)
    edit(edited, project)
    _write(project, edited)
    refused = _cli("apply", "plan.json", cwd=project.root)
    assert refused.returncode == 1, refused.stderr
    first = refused.stderr.splitlines()[0]
    a, b = project.prod_a.host, project.prod_b.host
    assert first == says.format(a=a, b=b, file=_sha256(project.file)), first
    _untouched(project)
    _applies_unedited(project, planned, image)


def test_a_plan_made_before_the_pipeline_file_changed_is_refused(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    image = project.seed()
    planned = _plan(project)
    before, original = _sha256(project.file), project.file.read_text()
    project.promote = '- to: [prod-a/{name}, prod-b/{name}]\n  tags: ["{{version}}", latest]\n'
    project.write()  # the rules changed: no mutable tag any more
    refused = _cli("apply", "plan.json", cwd=project.root)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines()[0] == (
        f"error: plan.json was made from pipeline.yml with {before}, "
        f"the file now has {_sha256(project.file)}; make the plan again"
    )
    assert "Traceback" not in refused.stderr
    _untouched(project)
    # the recorded path is where apply looks; -f names the file elsewhere (checked alike)
    project.file.unlink()
    missing = _cli("apply", "plan.json", cwd=project.root)
    assert missing.returncode == 2, missing.stderr
    assert missing.stderr.splitlines()[0] == (
        "error: the plan's pipeline file 'pipeline.yml' is not there: "
        "the plan cannot be checked against it"
    )
    _untouched(project)
    made_from = project.root / "made-from.yml"
    made_from.write_text(original)
    elsewhere = project.root.parent
    applied = _cli("apply", str(project.root / "plan.json"), "-f", str(made_from), cwd=elsewhere)
    assert applied.returncode == 0, applied.stderr
    assert head_digest(project.prod_b, "web", "1.2.3") == image.digest
    assert planned["pipeline"] == {"path": "pipeline.yml", "sha256": before}


def test_a_plan_without_the_binding_is_refused(make_project: Callable[..., Project]) -> None:
    project = make_project()
    project.seed()
    planned = _plan(project)
    del planned["pipeline"]
    _write(project, planned)
    refused = _cli("apply", "plan.json", cwd=project.root)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.splitlines()[0] == (
        "error: plan.json: the plan names no pipeline file digest (made by an older promoter): "
        "it cannot be checked against its pipeline file "
        "(make the plan again with 'promoter plan --out plan.json')"
    )
    _untouched(project)


def test_an_immutable_tag_is_not_moved_by_an_edited_plan(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    image = project.seed()
    other = project.seed(seed="2", tag="other")
    # production already has another digest at the immutable tag: the plan says conflict
    copied = _cli(
        "copy",
        f"{project.staging.host}/web@{other.digest}",
        f"{project.prod_a.host}/web:1.2.3",
        cwd=project.root,
    )
    assert copied.returncode == 0, copied.stderr
    planned = _plan(project, code=1)
    [conflict] = [a for a in planned["images"][0]["actions"] if a["action"] == "conflict"]
    for mutable, says in (
        (True, "is immutable in pipeline.yml, not as the plan says"),
        (False, f"the plan moves the immutable tag '1.2.3' for {project.prod_a.host}/web from"),
    ):
        conflict.update(action="tag", mutable=mutable)
        _write(project, planned)
        refused = _cli("apply", "plan.json", cwd=project.root)
        assert refused.returncode == 1, refused.stderr
        assert says in refused.stderr.splitlines()[0], refused.stderr
        assert head_digest(project.prod_a, "web", "1.2.3") == other.digest
        assert _repositories(project.prod_b) == []
    assert image.digest != other.digest


def _signing_project(make_project: Callable[..., Project]) -> Project:
    project = make_project(
        promote='- to: [prod-a/{name}, prod-b/{name}]\n  tags: ["{{version}}"]\n'
        "- to: [prod-a/{name}]\n  tags: [edge]\n  when: branch:main\n  sign: true\n"
        '- to: [prod-b/{name}]\n  tags: ["{{version}}"]\n  sign: true\n'
    )
    made = _cli("keygen", "--out-prefix", "cosign", cwd=project.root)
    assert made.returncode == 0, made.stderr
    project.file.write_text(project.file.read_text() + "signing:\n  key_file: cosign.key\n")
    return project


def test_signing_and_reaching_the_registries_follow_the_file(
    make_project: Callable[..., Project],
) -> None:
    project = _signing_project(make_project)
    image = project.seed()
    planned = _plan(project)
    signs = {s["destination"]: s for s in planned["images"][0]["signs"]}
    a, b = f"{project.prod_a.host}/web", f"{project.prod_b.host}/web"
    assert (signs[a]["action"], signs[b]["action"]) == ("skipped", "sign")
    # a signature the rule skips at this ref, flipped on: refused
    flipped = copy.deepcopy(planned)
    for sign in flipped["images"][0]["signs"]:
        sign.update(action="sign", fingerprint=signs[b]["fingerprint"])
    _write(project, flipped)
    refused = _cli("apply", "plan.json", cwd=project.root)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines()[0] == (
        f"error: plan.json: image web: a signature in {a} is not asked for by pipeline.yml's "
        "promote rules at refs/tags/v1.2.3; nothing was written"
    )
    _untouched(project)
    # where and with which credentials come from the file: the plan's registry settings
    # (TLS on, another password variable) and its key source are not used
    steered = copy.deepcopy(planned)
    for settings in steered["registries"].values():
        settings.update(insecure=False, auth="basic", passwordEnv="STOLEN", usernameEnv="STOLEN")
    for sign in steered["images"][0]["signs"]:
        sign["key"] = {"keyEnv": "ATTACKER_KEY", "passwordEnv": "ATTACKER_PASSWORD"}
    _write(project, steered)
    applied = _cli("apply", "plan.json", cwd=project.root)
    assert applied.returncode == 0, applied.stderr
    assert head_digest(project.prod_b, "web", "1.2.3") == image.digest
    signature = image.digest.replace(":", "-") + ".sig"
    assert head_digest(project.prod_b, "web", signature) is not None
    assert head_digest(project.prod_a, "web", signature) is None


def _shard(project: Project, shard: str) -> subprocess.CompletedProcess[str]:
    return _cli("apply", "plan.json", "--shard", shard, cwd=project.root)


def test_shards_and_the_finish_refuse_an_edited_plan(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    image = project.seed(layer_sizes=(40_000, 30_000))
    planned = _plan(project)
    edited = copy.deepcopy(planned)
    _add_destination(edited, project)
    _write(project, edited)
    shard = _shard(project, "1/2")
    assert shard.returncode == 1, shard.stderr
    assert shard.stderr.splitlines()[0].startswith(
        f"error: plan.json: image web: destination {project.prod_b.host}/evil is not"
    )
    _untouched(project)  # not a blob uploaded
    _write(project, planned)
    for index in ("1/2", "2/2"):
        done = _shard(project, index)
        assert done.returncode == 0, done.stderr
    assert project.prod_a.blob_count() > 0
    edited = copy.deepcopy(planned)
    _rename_tag(edited, project)
    _write(project, edited)
    finish = _cli("apply", "plan.json", "--finish", cwd=project.root)
    assert finish.returncode == 1, finish.stderr
    assert finish.stderr.splitlines()[0].startswith(
        f"error: plan.json: image web: tag '9.9.9' for {project.prod_a.host}/web is not produced"
    )
    for registry in (project.prod_a, project.prod_b):
        assert _tags(registry) == []
        assert head_digest(registry, "web", image.digest) is None  # no manifest either
    _write(project, planned)
    finish = _cli("apply", "plan.json", "--finish", cwd=project.root)
    assert finish.returncode == 0, finish.stderr
    for registry in (project.prod_a, project.prod_b):
        assert _tags(registry) == ["1.2.3", "latest"]
