"""Shards of one plan (``apply --shard I/N``) and the finishing step (``apply --finish``),
against real registries: CI jobs as concurrent processes, access logs as the witness."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from promoter.oci import Descriptor
from promoter.promote.shard import BlobUnit, assign_units
from tests.promote.project import CLEAN_ENV, LABELS, Project, head_digest, promoter_cli
from tests.support.actions_runner import parse_file_command
from tests.support.cli import run_cli
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.oci_craft import Image, make_image, random_layer
from tests.support.oci_store import push_http
from tests.support.real_parts import require, tool_missing
from tests.support.registry import Registry

NAMES = ("api", "web", "worker")
TAGS = ("1.2.3", "latest")


# --------------------------------------------------------------------------------------
# The assignment: a pure function of the units


def _units(count: int, seed: int) -> list[BlobUnit]:
    chooser = random.Random(seed)
    units = []
    for i in range(count):
        digest = f"sha256:{i:064x}"
        size = chooser.choice([0, 10, 1_000, 50_000, 2_000_000, chooser.randrange(1, 9_000_000)])
        host = chooser.choice(["127.0.0.1:5001", "127.0.0.1:5002"])
        blob = Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest, size)
        units.append(BlobUnit(host, blob, ("web",), "127.0.0.1:5000/web"))
    return units


def test_every_unit_goes_to_one_shard_by_bytes_whatever_the_order() -> None:
    units = _units(200, seed=7)
    shards = assign_units(units, 4)
    placed = Counter((u.host, u.blob.digest) for shard in shards for u in shard)
    assert set(placed) == {(u.host, u.blob.digest) for u in units}
    assert set(placed.values()) == {1}
    shuffled = list(units)
    random.Random(3).shuffle(shuffled)
    assert assign_units(shuffled, 4) == shards  # a re-run (any order) assigns alike
    loads = [sum(u.blob.size for u in shard) for shard in shards]
    # greedy on sizes, largest first: no shard exceeds another by more than one blob
    assert max(loads) - min(loads) <= max(u.blob.size for u in units)
    assert all(shards)


def test_one_large_blob_and_many_small_ones_are_balanced_by_bytes_not_count() -> None:
    big = _units(1, seed=1)[0]
    big = BlobUnit(big.host, Descriptor(big.blob.media_type, big.blob.digest, 8_000), (), "")
    small = [
        BlobUnit("h", Descriptor("x", f"sha256:{i + 1:064x}", 1_000), (), "") for i in range(8)
    ]
    first, second = assign_units([*small, big], 2)
    assert [u.blob.size for u in first] == [8_000]
    assert len(second) == 8


# --------------------------------------------------------------------------------------
# Real registries


Sharded = tuple[Project, dict[str, Image]]


def _project(registry_factory: Callable[..., Registry], root: Path, **hosts: str) -> Sharded:
    """Three images of three layers (one shared by all, one by two) in staging; two
    production registries with access logs; pipeline.yml promotes each to both."""
    staging = registry_factory()
    prod_a, prod_b = registry_factory(access_log=True), registry_factory(access_log=True)
    project = Project(root, staging, prod_a, prod_b, images=NAMES, hosts=hosts)
    base = random_layer(300_000, "base")
    middle = random_layer(200_000, "middle")
    images = {}
    for i, name in enumerate(NAMES):
        second = middle if name != "worker" else random_layer(150_000, "own")
        layers = [base, second, random_layer(50_000 + 40_000 * i, name)]
        image = make_image(layers=layers, seed=name, user="1000", labels=LABELS)
        push_http(image, staging.url, name, "1.2.3")
        images[name] = image
    return project, images


@pytest.fixture
def sharded(registry_factory: Callable[..., Registry], tmp_path: Path) -> Sharded:
    return _project(registry_factory, tmp_path / "project")


def _plan(project: Project) -> Path:
    result = promoter_cli("plan", "-f", "pipeline.yml", "--out", "plan.json", cwd=project.root)
    assert result.returncode == 0, result.stderr
    return project.root / "plan.json"


def _start_shard(
    project: Project, shard: str, output: int | None = subprocess.PIPE
) -> subprocess.Popen[str]:
    args = ["apply", "plan.json", "--shard", shard, "--output", "json"]
    return subprocess.Popen(
        [sys.executable, "-m", "promoter", *args],
        cwd=project.root,
        env=CLEAN_ENV,
        stdout=output,
        stderr=output,
        text=True,
    )


def _run_shards(project: Project, shards: list[str]) -> list[dict[str, Any]]:
    """Run shards as concurrent processes (as CI jobs); their JSON documents."""
    running = [_start_shard(project, shard) for shard in shards]
    documents = []
    for process in running:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        documents.append(json.loads(out))
    return documents


def _finish(project: Project) -> subprocess.CompletedProcess[str]:
    return promoter_cli("apply", "plan.json", "--finish", "--output", "json", cwd=project.root)


def _no_production_tag(project: Project, images: dict[str, Image]) -> None:
    for registry in (project.prod_a, project.prod_b):
        for name, image in images.items():
            listed = httpx.get(f"{registry.url}/v2/{name}/tags/list", timeout=30)
            assert listed.status_code == 404 or not listed.json().get("tags"), listed.text
            assert head_digest(registry, name, image.digest) is None  # no manifest either


def _uploads(registry: Registry) -> Counter[str]:
    return Counter(r.uploaded for r in registry.requests() if r.uploaded)


def _skopeo_digest(host: str, name: str, tag: str) -> str:
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{host}/{name}:{tag}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert inspected.returncode == 0, inspected.stderr
    digest: str = json.loads(inspected.stdout)["Digest"]
    return digest


def _tags_at_planned_digests(project: Project, images: dict[str, Image], hosts: list[str]) -> None:
    for host in hosts:
        for name, image in images.items():
            for tag in TAGS:
                assert _skopeo_digest(host, name, tag) == image.digest, (host, name, tag)


def test_four_concurrent_shards_then_finish_promote_every_blob_once_per_registry(
    sharded: Sharded,
) -> None:
    require(tool_missing("skopeo"))
    project, images = sharded
    _plan(project)
    documents = _run_shards(project, [f"{i}/4" for i in range(1, 5)])

    # The shards share the plan's work: every unit once, by bytes, no tag.
    plan_blobs = {d["planTotal"]["blobs"] for d in documents}
    blobs = {digest for image in images.values() for digest in image.blobs}
    assert plan_blobs == {2 * len(blobs)}  # each blob, in each of two registries
    assert sum(d["assigned"]["blobs"] for d in documents) == 2 * len(blobs)
    assert all(d["assigned"]["blobs"] and d["tagsWritten"] == 0 for d in documents)
    assert sum(d["uploaded"]["blobs"] for d in documents) == 2 * len(blobs)
    _no_production_tag(project, images)

    logged = {r.host: len(r.requests()) for r in (project.prod_a, project.prod_b)}
    finished = _finish(project)
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert {i["status"] for i in report["promotion"]["images"]} == {"promoted"}
    _tags_at_planned_digests(project, images, [project.prod_a.host, project.prod_b.host])
    # The finish asks each destination repository for each blob once: the apply it
    # goes on to knows the answers and asks no more.
    for registry in (project.prod_a, project.prod_b):
        during = registry.requests()[logged[registry.host] :]
        heads = Counter(r.path for r in during if r.method == "HEAD" and "/blobs/" in r.path)
        asked = {f"/v2/{name}/blobs/{d}" for name, image in images.items() for d in image.blobs}
        assert heads == dict.fromkeys(asked, 1), registry.host

    # Each blob crossed to each production registry once (the other repositories
    # that need it got a mount), during the shards: the finish uploaded none.
    for registry in (project.prod_a, project.prod_b):
        uploads = _uploads(registry)
        assert {d: uploads[d] for d in blobs} == dict.fromkeys(blobs, 1), registry.host
        mounted = {r.mounted for r in registry.requests() if r.mounted}
        base = images["api"].manifest["layers"][0]["digest"]
        assert base in mounted  # the shared base layer: uploaded once, mounted twice


def test_a_shard_never_run_makes_finish_refuse_and_write_nothing(sharded: Sharded) -> None:
    project, images = sharded
    _plan(project)
    documents = _run_shards(project, ["1/4", "2/4", "3/4"])
    left = documents[0]["planTotal"]["blobs"] - sum(d["assigned"]["blobs"] for d in documents)
    assert left > 0  # shard 4 has work

    refused = _finish(project)
    assert refused.returncode == 1, refused.stderr
    first = refused.stderr.splitlines()[0]
    assert first.startswith("error: the content is not complete: ") and "no tag written" in first
    blobs = {digest for image in images.values() for digest in image.blobs}
    listed = [line.strip() for line in refused.stderr.splitlines() if " -> " in line]
    assert f"{len(listed)} blob(s) missing" in first  # one line per image, repository, blob
    # ... naming exactly shard 4's units: (destination registry, blob) pairs
    pairs = {
        (line.split(" -> ")[1].split("/")[0], line.split(": ")[1].split(" ")[0]) for line in listed
    }
    assert len(pairs) == left
    assert {digest for _, digest in pairs} <= blobs
    _no_production_tag(project, images)

    _run_shards(project, ["4/4"])
    done = _finish(project)
    assert done.returncode == 0, done.stderr


def _stall_uploads(seconds: float) -> Fault:
    return Fault(
        "stall",
        path=r"/v2/[^/]+/blobs/uploads/[^?/]+",
        during="request",
        after_bytes=10_000,
        seconds=seconds,
        times=None,
    )


def test_a_shard_killed_mid_upload_and_run_again_lets_finish_complete(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    require(tool_missing("skopeo"))
    far = registry_factory()
    with FaultProxy(far.host) as proxy:
        project, images = _project(registry_factory, tmp_path / "project", **{"prod-b": proxy.host})
        _plan(project)
        proxy.add(_stall_uploads(60))  # prod-b's uploads hang
        victim = _start_shard(project, "2/2", output=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and victim.poll() is None:
            if any(e.fault == "stall" for e in proxy.exchanges()):
                break
            time.sleep(0.05)
        assert any(e.fault == "stall" for e in proxy.exchanges()), "no upload reached prod-b"
        victim.kill()  # SIGKILL
        victim.wait(timeout=10)
        proxy.clear_faults()
        assert _finish(project).returncode == 1  # shard 1 never ran, shard 2 did not finish

        _run_shards(project, ["2/2", "1/2"])  # the killed shard again, then the other
        done = _finish(project)
        assert done.returncode == 0, done.stderr
        _tags_at_planned_digests(project, images, [project.prod_a.host, proxy.host])


def test_finish_refuses_a_plan_from_another_pipeline(sharded: Sharded) -> None:
    project, images = sharded
    _plan(project)
    # one shard does it all, as a GitHub Actions step: its outputs and summary are written
    github = {**CLEAN_ENV, "GITHUB_ACTIONS": "true"}  # at the plan's ref and commit
    github.update(GITHUB_REF=f"refs/tags/{project.git_tag}", GITHUB_SHA=project.head())
    github["GITHUB_OUTPUT"] = str(project.root.parent / "output")
    github["GITHUB_STEP_SUMMARY"] = str(project.root.parent / "summary.md")
    args = ["apply", "plan.json", "--shard", "1/1"]
    step = run_cli(args, cwd=project.root, env=github)
    assert step.returncode == 0, step.stderr
    assert "shard 1/1: " in step.stdout and "no manifest or tag written" in step.stdout
    assert parse_file_command(Path(github["GITHUB_OUTPUT"]).read_text())["result"] == "succeeded"
    assert "promoter apply: succeeded" in Path(github["GITHUB_STEP_SUMMARY"]).read_text()
    # The finishing job's checkout holds another pipeline where the plan names its
    # pipeline file (another commit, another repository): the same image names,
    # other staging repositories. The plan was not made from that file.
    planned = "sha256:" + hashlib.sha256(project.file.read_bytes()).hexdigest()
    text = project.file.read_text().replace("staging: staging/", "staging: staging/other-")
    project.file.write_text(text)
    now = "sha256:" + hashlib.sha256(project.file.read_bytes()).hexdigest()
    refused = promoter_cli("apply", "plan.json", "--finish", cwd=project.root)
    assert refused.returncode == 1, refused.stderr
    first = refused.stderr.splitlines()[0]
    assert first == (
        f"error: plan.json was made from pipeline.yml with {planned}, the file now has {now}; "
        "make the plan again"
    )
    assert refused.stdout == ""
    _no_production_tag(project, images)
    shard = promoter_cli("apply", "plan.json", "--shard", "1/1", cwd=project.root)
    assert shard.returncode == 1 and shard.stderr.splitlines()[0] == first


def test_finish_refuses_a_stale_plan_before_looking_at_the_content(sharded: Sharded) -> None:
    project, _ = sharded
    _plan(project)
    _run_shards(project, ["2/2"])  # shard 1 never runs: the content is not complete either
    # another writer puts another image at an immutable production tag meanwhile
    other = make_image(seed="someone else", user="1000", labels=LABELS)
    push_http(other, project.prod_a.url, "web", "1.2.3")
    stale = _finish(project)
    assert stale.returncode == 1, stale.stderr
    first = stale.stderr.splitlines()[0]
    assert first.startswith("error: the plan is stale: 1 change(s)"), first
    assert f"{project.prod_a.host}/web:1.2.3 now names {other.digest}" in stale.stderr
    assert head_digest(project.prod_a, "web", "1.2.3") == other.digest
    for registry in (project.prod_a, project.prod_b):
        for name in NAMES:
            assert head_digest(registry, name, "latest") is None
    # a shard refuses the stale plan too, before any upload
    shard = promoter_cli("apply", "plan.json", "--shard", "1/2", cwd=project.root)
    assert shard.returncode == 1 and shard.stderr.splitlines()[0] == first


def test_a_signing_rule_signs_at_finish_and_the_shards_need_no_key(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    require(tool_missing("skopeo"))
    project, images = _project(registry_factory, tmp_path / "project")
    project.promote = (
        '- to: [prod-a/{name}, prod-b/{name}]\n  tags: ["{{version}}", latest]\n'
        "  mutable: [latest]\n  sign: true\n"
    )
    project.write()
    with_key = {**CLEAN_ENV, "COSIGN_PASSWORD": "shard test password"}
    made = run_cli(["keygen", "--out-prefix", "cosign"], cwd=project.root, env=with_key)
    assert made.returncode == 0, made.stderr
    project.file.write_text(project.file.read_text() + "signing:\n  key_file: cosign.key\n")
    planned = run_cli(["plan", "--out", "plan.json"], cwd=project.root, env=with_key)
    assert planned.returncode == 0, planned.stderr
    assert json.loads((project.root / "plan.json").read_text())["summary"]["sign"] == 6

    # The shards move content only: they run without the key's password and sign nothing.
    _run_shards(project, ["1/2", "2/2"])
    for registry in (project.prod_a, project.prod_b):
        for name, image in images.items():
            signature = f"{image.digest.replace(':', '-')}.sig"
            assert head_digest(registry, name, signature) is None

    finished = run_cli(["apply", "plan.json", "--finish"], cwd=project.root, env=with_key)
    assert finished.returncode == 0, finished.stderr
    _tags_at_planned_digests(project, images, [project.prod_a.host, project.prod_b.host])
    policy = project.root / "signed.yml"
    policy.write_text(f"policies:\n  - rule: signed\n    key: {project.root / 'cosign.pub'}\n")
    for registry in (project.prod_a, project.prod_b):
        for name in images:
            reference = f"{registry.host}/{name}:1.2.3"
            insecure = ["--insecure-registry", registry.host]
            checked = run_cli(
                ["check", reference, "--policy", str(policy), *insecure],
                cwd=project.root,
                env=CLEAN_ENV,
            )
            assert checked.returncode == 0, checked.stdout + checked.stderr
