"""``promoter prune`` against real registries with deletes enabled (distribution 2.8).

A staging repository holds images pushed "over several days" (created dates set in
the manifest annotation, the config label or the config's ``created``), two of them
promoted (one to each production), one with a protected tag, two indexes that share
a child, signed images and an SBOM with its fallback index. ``skopeo inspect`` is
the outside reader that checks what is gone and what remains.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.promote.project import LABELS, Project, attach_sbom, promoter_cli
from tests.support.images import Image, make_artifact, make_image, make_index, push_http
from tests.support.real_parts import require, tool_missing
from tests.support.registry import Registry
from tests.test_json_keys import bad_keys

CREATED = "org.opencontainers.image.created"
COSIGN = "application/vnd.dev.cosign.simplesigning.v1+json"
RETENTION = 'retention:\n  keep_last: 2\n  keep_newer_than: 3d\n  keep_tags: ["v*"]\n'


def _when(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _image(seed: str, days: float, how: str = "config") -> Image:
    """An image created ``days`` ago, the date in the annotation, the label or the config."""
    if how == "annotation":
        return make_image(seed=seed, labels=LABELS, annotations={CREATED: _when(days)})
    if how == "label":
        return make_image(seed=seed, labels={**LABELS, CREATED: _when(days)})
    return make_image(seed=seed, labels=LABELS, created=_when(days))


def _sign(url: str, image: Image) -> Image:
    """A cosign-style signature under ``sha256-<hex>.sig``."""
    signature = make_artifact(image, artifact_type=COSIGN)
    push_http(signature, url, "web", image.digest.replace(":", "-") + ".sig")
    return signature


@dataclass
class Staging:
    """The seeded images, by role."""

    kept: dict[str, Image]
    deleted: dict[str, Image]
    shared_child: Image
    lone_child: Image
    old_signature: Image
    old_sbom: Image
    new_signature: Image
    untagged: Image


def _seed(project: Project) -> Staging:
    url = project.staging.url
    new1, new2 = _image("n1", 1, "annotation"), _image("n2", 2, "label")
    shared, fresh_child, lone = _image("c1", 20), _image("c3", 2.5), _image("c2", 20)
    multi_new = make_index([shared, fresh_child], annotations={CREATED: _when(2.5)})
    multi_old = make_index([shared, lone], annotations={CREATED: _when(14)})
    kept = {
        "b1": new1,
        "b2": new2,
        "multi-new": multi_new,
        "b4": _image("o4", 10),
        "b5": _image("o5", 11, "label"),
        "b6": _image("o6", 12),
    }
    deleted = {"b7": _image("o7", 13), "multi-old": multi_old, "b8": _image("o8", 15)}
    for tag, image in [*kept.items(), *deleted.items()]:
        push_http(image, url, "web", tag)
    push_http(kept["b6"], url, "web", "v1.0")
    push_http(kept["b4"], project.prod_a.url, "web", "1.0.4")  # promoted to prod-a
    push_http(kept["b5"], project.prod_b.url, "web")  # promoted to prod-b, by digest
    untagged = _image("u", 30)
    push_http(untagged, url, "web")
    return Staging(
        kept,
        deleted,
        shared,
        lone,
        old_signature=_sign(url, deleted["b7"]),
        old_sbom=attach_sbom(url, "web", deleted["b7"]),
        new_signature=_sign(url, new1),
        untagged=untagged,
    )


def _exists(registry: Registry, digest: str) -> bool:
    require(tool_missing("skopeo"))
    done = subprocess.run(
        [
            "skopeo",
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{registry.host}/web@{digest}",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def project(registry_factory: Callable[..., Registry], tmp_path: Path) -> Project:
    staging = registry_factory(access_log=True)
    made = Project(tmp_path / "project", staging, registry_factory(), registry_factory())
    made.file.write_text(made.file.read_text() + RETENTION)
    return made


def test_prune_keeps_what_is_needed_and_deletes_the_rest_with_its_signatures(
    project: Project,
) -> None:
    seeded = _seed(project)
    before = len(project.staging.requests())
    dry = promoter_cli("prune", "-f", str(project.file), "--output", "json")
    assert dry.returncode == 0, dry.stderr
    document = json.loads(dry.stdout)
    deleted = {e["digest"]: e for e in document["delete"]}
    kept = {e["digest"]: e for e in document["keep"]}
    assert set(deleted) == {i.digest for i in seeded.deleted.values()}
    assert set(kept) == {i.digest for i in seeded.kept.values()}
    assert all({"repository", "digest", "tags", "reason"} <= set(e) for e in document["delete"])
    # The budget: a manifest GET and a config GET per staging digest, plus the ping, the tag
    # list and the referrer tags of what is deleted; one HEAD per destination for the rest.
    asked = {r["host"]: r["count"] for r in document["requests"]}
    assert list(bad_keys(document)) == []
    assert document["stagingDigests"] == 12  # 9 tagged, 3 index children
    assert asked[project.staging.host] <= 2 * 12 + 2 + 2
    # 5 HEADs of tagged digests (b4 found there), 1 of the deleted index's lone child.
    assert asked[project.prod_a.host] <= 6 + 2
    assert "promoted" in kept[seeded.kept["b4"].digest]["reason"]
    assert "promoted" in kept[seeded.kept["b5"].digest]["reason"]
    assert "keep_tags" in kept[seeded.kept["b6"].digest]["reason"]
    assert "newest 2" in kept[seeded.kept["b2"].digest]["reason"]
    assert "keep_newer_than" in kept[seeded.kept["multi-new"].digest]["reason"]
    old = deleted[seeded.deleted["b7"].digest]
    steps = [(s["what"], s["digest"]) for s in old["deletes"]]
    # Referrer tags first, then the referrers, the digest itself last.
    assert steps[-1] == ("manifest", seeded.deleted["b7"].digest)
    assert ("signature", seeded.old_signature.digest) in steps
    assert ("referrer", seeded.old_sbom.digest) in steps
    assert steps.index(("referrer", seeded.old_sbom.digest)) > [w for w, _ in steps].index(
        "referrers index"
    )
    multi = [s["digest"] for s in deleted[seeded.deleted["multi-old"].digest]["deletes"]]
    assert multi == [seeded.deleted["multi-old"].digest, seeded.lone_child.digest]
    assert seeded.shared_child.digest not in multi
    text = promoter_cli("prune", "-f", str(project.file))
    assert text.returncode == 0
    assert (
        f"delete  {project.staging.host}/web@{seeded.deleted['b8'].digest}  tags: b8" in text.stdout
    )
    assert "untagged manifests are not listed" in text.stdout
    assert "dry run: nothing deleted" in text.stdout
    writes = [r for r in project.staging.requests()[before:] if r.method not in ("GET", "HEAD")]
    assert writes == []

    done = promoter_cli("prune", "-f", str(project.file), "--apply", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert list(bad_keys(json.loads(done.stdout))) == []
    applied = json.loads(done.stdout)["applied"]
    assert len(applied["deleted"]) == 3 and applied["skipped"] == []
    staging = project.staging
    for image in seeded.deleted.values():
        assert not _exists(staging, image.digest), image
    for gone in (seeded.lone_child, seeded.old_signature, seeded.old_sbom):
        assert not _exists(staging, gone.digest)
    for image in seeded.kept.values():
        assert _exists(staging, image.digest)
    for kept_too in (seeded.shared_child, seeded.new_signature, seeded.untagged):
        assert _exists(staging, kept_too.digest)
    tags = set(
        json.loads(
            subprocess.run(
                ["skopeo", "list-tags", "--tls-verify=false", f"docker://{staging.host}/web"],
                capture_output=True,
                timeout=60,
                check=True,
            ).stdout
        )["Tags"]
    )
    b7 = seeded.deleted["b7"].digest.replace(":", "-")
    assert not {b7, f"{b7}.sig", "b7", "b8", "multi-old"} & tags
    b1 = seeded.kept["b1"].digest.replace(":", "-")
    assert {"b1", "b2", "multi-new", "b4", "b5", "b6", "v1.0", f"{b1}.sig"} <= tags


def test_a_plan_whose_world_moved_skips_and_names_those_digests(project: Project) -> None:
    seeded = _seed(project)
    plan = project.root / "prune.json"
    made = promoter_cli("prune", "-f", str(project.file), "--out", str(plan))
    assert made.returncode == 0, made.stderr
    written = json.loads(plan.read_text())
    assert written["kind"] == "prune"
    assert list(bad_keys(written)) == []
    b7, b8 = seeded.deleted["b7"], seeded.deleted["b8"]
    push_http(b8, project.staging.url, "web", "v2.0")  # now a protected tag names it
    push_http(b7, project.prod_b.url, "web", "9.9.9")  # promoted since the plan
    done = promoter_cli("apply", str(plan), "--output", "json", cwd=project.root)
    assert done.returncode == 1, done.stderr
    assert "2 digest(s) skipped" in done.stderr
    applied = json.loads(done.stdout)["applied"]
    skipped = {s["digest"]: s["skipped"] for s in applied["skipped"]}
    assert "v2.0" in skipped[b8.digest] and "keep_tags" in skipped[b8.digest]
    assert "promoted since the plan" in skipped[b7.digest]
    assert [e["digest"] for e in applied["deleted"]] == [seeded.deleted["multi-old"].digest]
    assert _exists(project.staging, b7.digest) and _exists(project.staging, b8.digest)
    assert _exists(project.staging, seeded.old_signature.digest)
    assert not _exists(project.staging, seeded.deleted["multi-old"].digest)
    text = promoter_cli("apply", str(plan), cwd=project.root)
    assert text.returncode == 1
    assert f"skipped {project.staging.host}/web@{b8.digest}: tag v2.0" in text.stdout


def test_a_registry_that_refuses_deletes_is_exit_3_naming_it(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    staging = registry_factory(deletes=False)
    project = Project(tmp_path / "project", staging, registry_factory(), registry_factory())
    project.file.write_text(project.file.read_text() + RETENTION)
    for days in (30, 31):
        push_http(_image(f"o{days}", days), staging.url, "web", f"b{days}")
    old = _image("o", 32)  # the third newest: keep_last: 2 does not keep it
    push_http(old, staging.url, "web", "old")
    done = promoter_cli("prune", "-f", str(project.file), "--apply")
    assert done.returncode == 3, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: {staging.host} does not allow deletes (UNSUPPORTED)")
    assert "storage.delete.enabled: true" in done.stderr
    assert _exists(staging, old.digest)


def test_without_retention_prune_is_bad_input(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    project = Project(
        tmp_path / "project", registry_factory(), registry_factory(), registry_factory()
    )
    done = promoter_cli("prune", "-f", str(project.file))
    assert done.returncode == 2
    assert "has no retention: nothing to prune" in done.stderr.splitlines()[0]


def test_on_github_prune_writes_its_outputs_and_summary(project: Project, tmp_path: Path) -> None:
    from tests.ci.test_cli_on_ci import github_env
    from tests.support.actions_runner import parse_file_command
    from tests.support.cli import run_cli

    images = [_image(f"g{days}", days) for days in (20, 21, 22)]
    for n, image in enumerate(images):
        push_http(image, project.staging.url, "web", f"g{n}")
    env = github_env(project, tmp_path)
    plan = tmp_path / "prune.json"
    done = run_cli(["prune", "-f", str(project.file), "--out", str(plan)], env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    outputs = parse_file_command((tmp_path / "output").read_text())
    assert outputs["result"] == "succeeded"
    assert outputs["plan"] == str(plan)
    summary = (tmp_path / "summary").read_text()
    assert "promoter prune: succeeded" in summary
    assert "### To delete (dry run)" in summary
    assert f"`{images[2].digest}` | g2 |" in summary
    assert "### Kept" in summary and "one of the newest 2" in summary


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ({"kind": "prune", "format": "promoter.prune/v0"}, "not a prune plan"),
        ({"kind": "prune", "format": "promoter.prune/v1", "delete": []}, "malformed prune plan"),
    ],
    ids=["format", "shape"],
)
def test_a_broken_prune_plan_is_bad_input(
    tmp_path: Path, document: dict[str, str], says: str
) -> None:
    plan = tmp_path / "prune.json"
    plan.write_text(json.dumps(document))
    done = promoter_cli("apply", str(plan))
    assert done.returncode == 2, done.stderr
    assert says in done.stderr.splitlines()[0]


def test_a_prune_plan_is_bound_to_its_pipeline_file(project: Project) -> None:
    # A plan handed between jobs: an edited one deletes nothing the file's retention does
    # not cover (a production repository, say), and a changed file voids the plan.
    seeded = _seed(project)
    plan = project.root / "prune.json"
    assert promoter_cli("prune", "-f", str(project.file), "--out", str(plan)).returncode == 0
    written = json.loads(plan.read_text())
    assert set(written["pipeline"]) == {"path", "sha256"}
    victim = seeded.deleted["b7"]
    push_http(victim, project.prod_b.url, "web", "release")  # a production digest
    entry = next(e for e in written["delete"] if e["digest"] == victim.digest)
    production = f"{project.prod_b.host}/web"
    edited = {**written, "delete": [{**entry, "repository": production}]}
    edited["repositories"] = [*written["repositories"], {**written["repositories"][0],
                                                         "repository": production}]  # fmt: skip
    plan.write_text(json.dumps(edited))
    done = promoter_cli("apply", str(plan), cwd=project.root)
    assert done.returncode == 1, done.stderr
    first = done.stderr.splitlines()[0]
    assert f"{production} is not a staging repository with a retention" in first
    assert _exists(project.prod_b, victim.digest) and _exists(project.staging, victim.digest)
    # The file changed since the plan: refused, nothing deleted.
    plan.write_text(json.dumps(written))
    project.file.write_text(project.file.read_text() + "\n# changed\n")
    done = promoter_cli("apply", str(plan), cwd=project.root)
    assert done.returncode == 1 and "make the plan again" in done.stderr.splitlines()[0]
    assert _exists(project.staging, victim.digest)
    # A plan that names no pipeline file (an older promoter's): bad input.
    plan.write_text(json.dumps({k: v for k, v in written.items() if k != "pipeline"}))
    assert promoter_cli("apply", str(plan), cwd=project.root).returncode == 2
    assert _exists(project.staging, victim.digest)
