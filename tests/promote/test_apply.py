"""``promoter apply`` and ``promoter run`` on real registries: stale plans, conflicts,
referrers and the promotion record, concurrent promotions."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from promoter.promote import PROMOTION_ARTIFACT_TYPE
from tests.promote.project import (
    Project,
    fallback_index,
    head_digest,
    promoter_cli,
    start_promotion,
)
from tests.support.images import make_image, push_http

pytestmark = pytest.mark.registry


def _plan(project: Project, out: Path, *, exit_code: int = 0) -> dict:
    result = promoter_cli("plan", "-f", str(project.file), "--out", str(out), "--output", "json")
    assert result.returncode == exit_code, result.stderr
    return json.loads(out.read_text())


def test_apply_carries_out_the_plan(make_project: Callable[..., Project], tmp_path: Path) -> None:
    project = make_project()
    image = project.seed()
    plan_file = tmp_path / "plan.json"
    _plan(project, plan_file)
    result = promoter_cli("apply", str(plan_file), "--output", "json", cwd=project.root)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["promotion"]["images"][0]["status"] == "promoted"
    for registry in (project.prod_a, project.prod_b):
        assert head_digest(registry, "web", "1.2.3") == image.digest
        assert head_digest(registry, "web", "latest") == image.digest
    assert head_digest(project.prod_a, "web", "edge") is None  # skipped: not on main
    # applying the same plan again: the tags now name the planned digest, nothing moves
    again = promoter_cli("apply", str(plan_file), "--output", "json", cwd=project.root)
    assert again.returncode == 0, again.stderr


def test_stale_plan_is_refused_and_writes_nothing(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    project.seed()
    plan_file = tmp_path / "plan.json"
    _plan(project, plan_file)
    # someone moves a destination tag the plan assumed absent
    other = make_image(seed="intruder", user="1000")
    push_http(other, project.prod_b.url, "web", "latest")
    blobs = (project.prod_a.blob_count(), project.prod_b.blob_count())
    result = promoter_cli("apply", str(plan_file), cwd=project.root)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: the plan is stale")
    assert f"{project.prod_b.host}/web:latest now names {other.digest}" in result.stderr
    assert (project.prod_a.blob_count(), project.prod_b.blob_count()) == blobs
    assert head_digest(project.prod_a, "web", "1.2.3") is None
    assert head_digest(project.prod_b, "web", "1.2.3") is None


def test_plan_with_moved_source_is_refused(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    project.seed(seed="first")
    plan_file = tmp_path / "plan.json"
    _plan(project, plan_file)
    rebuilt = project.seed(seed="second")  # the staging tag now names another build
    result = promoter_cli("apply", str(plan_file), cwd=project.root)
    assert result.returncode == 1, result.stderr
    assert "stale" in result.stderr
    assert f"now names {rebuilt.digest}" in result.stderr
    assert head_digest(project.prod_a, "web", "1.2.3") is None


def test_apply_rejects_a_plan_that_is_not_one(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"images": []}')
    result = promoter_cli("apply", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {bad}: not a promoter plan")
    assert "Traceback" not in result.stderr
    missing = promoter_cli("apply", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert f"{tmp_path / 'nope.json'}: no such file" in missing.stderr


def test_conflict_on_one_destination_writes_no_tag_anywhere(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    image = project.seed()
    other = make_image(seed="released-before", user="1000")
    push_http(other, project.prod_b.url, "web", "1.2.3")  # an immutable tag, elsewhere
    result = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "conflict" in result.stdout
    assert result.stderr.startswith("error: web: conflict: immutable tag(s) at another digest")
    assert head_digest(project.prod_a, "web", "1.2.3") is None
    assert head_digest(project.prod_a, "web", "latest") is None
    assert head_digest(project.prod_b, "web", "latest") is None
    assert head_digest(project.prod_b, "web", "1.2.3") == other.digest  # never moved
    assert head_digest(project.prod_a, "web", image.digest) is None  # no content either


def _skopeo(*args: str) -> str:
    result = subprocess.run(
        ["skopeo", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skopeo
def test_referrers_and_promotion_record_in_every_destination(
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    image = project.seed(referrers=True)
    result = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
    assert result.returncode == 0, result.stdout + result.stderr
    head = promoter_cli("--version").stdout.split()[-1]
    for registry in (project.prod_a, project.prod_b):
        index = fallback_index(registry.url, image.digest)
        kinds = {m.get("artifactType"): m["digest"] for m in index["manifests"]}
        assert "application/spdx+json" in kinds  # the SBOM travelled with the image
        record_digest = kinds[PROMOTION_ARTIFACT_TYPE]
        raw = _skopeo(
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{registry.host}/web@{record_digest}",
        )
        manifest = json.loads(raw)
        assert manifest["artifactType"] == PROMOTION_ARTIFACT_TYPE
        assert manifest["subject"]["digest"] == image.digest
        assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
        assert manifest["config"]["size"] == 2
        layer = manifest["layers"][0]["digest"]
        record = httpx.get(f"{registry.url}/v2/web/blobs/{layer}", timeout=30).json()
        assert record["digest"] == image.digest
        assert record["source"] == f"{project.staging.host}/web@{image.digest}"
        assert record["destination"] == f"{registry.host}/web"
        assert sorted(record["tags"]) == ["1.2.3", "latest"]
        assert record["policy"]["ok"] is True
        assert record["policy"]["results"][0]["rule"] == "non-root"
        assert len(record["git"]["commit"]) == 40
        assert record["git"]["ref"] == "refs/tags/v1.2.3"
        assert record["promoter"] == head
        assert record["time"]
        # skopeo reads the promoted image by tag, at the staging digest
        inspected = json.loads(
            _skopeo("inspect", "--tls-verify=false", f"docker://{registry.host}/web:1.2.3")
        )
        assert inspected["Digest"] == image.digest


def test_promotions_of_one_image_at_once_agree(make_project: Callable[..., Project]) -> None:
    project = make_project()
    image = project.seed(layer_sizes=(300_000, 200_000))
    runs = [start_promotion(project, "--output", "json") for _ in range(3)]
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=180)
        assert run.returncode == 0, err
        reports.append(json.loads(out))
    for report in reports:
        assert report["promotion"]["images"][0]["digest"] == image.digest
        assert report["promotion"]["images"][0]["status"] in ("promoted", "up-to-date")
    for registry in (project.prod_a, project.prod_b):
        assert head_digest(registry, "web", "1.2.3") == image.digest
        assert head_digest(registry, "web", "latest") == image.digest
        index = fallback_index(registry.url, image.digest)
        records = [
            m for m in index["manifests"] if m.get("artifactType") == PROMOTION_ARTIFACT_TYPE
        ]
        assert records  # at least one record is listed; each is stored by digest
    for report in reports:
        for image_report in report["promotion"]["images"]:
            for destination in image_report["destinations"]:
                registry = destination["destination"].split("/", 1)[0]
                url = f"http://{registry}/v2/web/manifests/{destination['record']}"
                assert (
                    httpx.head(
                        url, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}
                    ).status_code
                    == 200
                )


def test_immutable_tag_written_during_the_copy_stops_every_tag(
    make_project: Callable[..., Project],
) -> None:
    """Another promotion writes 1.2.3 elsewhere while ours copies: ours writes no tag."""
    from promoter.pipeline import run_pipeline
    from promoter.transfer import SilentProgress

    project = make_project()
    image = project.seed()
    other = make_image(seed="the-other-promotion", user="1000")

    class Intruder(SilentProgress):
        def finished(self, destination: str, digest: str) -> None:
            if destination.startswith(project.prod_b.host):
                push_http(other, project.prod_b.url, "web", "1.2.3")

    report = run_pipeline(project.request(listener=Intruder()))
    assert report.exit_code == 1
    assert report.promotion is not None
    outcome = report.promotion.images[0]
    assert outcome.status == "conflict"
    assert f"{project.prod_b.host}/web:1.2.3" in outcome.message
    assert head_digest(project.prod_a, "web", "1.2.3") is None
    assert head_digest(project.prod_a, "web", "latest") is None
    assert head_digest(project.prod_b, "web", "latest") is None
    assert head_digest(project.prod_b, "web", "1.2.3") == other.digest
    # the content is there, by digest: a later promotion of another tag is a tag write
    assert head_digest(project.prod_a, "web", image.digest) == image.digest


def test_apply_of_a_plan_made_before_the_build_is_refused(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    plan_file = tmp_path / "plan.json"
    plan = _plan(project, plan_file)
    assert plan["unknownDigests"] == ["web"]
    result = promoter_cli("apply", str(plan_file), cwd=project.root)
    assert result.returncode == 2
    assert result.stderr.startswith("error: the plan does not know the digest of web")
    assert project.prod_a.blob_count() == 0 and project.prod_b.blob_count() == 0


def test_apply_of_a_plan_with_a_conflict_writes_no_tag(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    image = project.seed()
    other = make_image(seed="older-release", user="1000")
    push_http(other, project.prod_a.url, "web", "1.2.3")
    plan_file = tmp_path / "plan.json"
    _plan(project, plan_file, exit_code=1)  # the dry run already says it would be refused
    result = promoter_cli("apply", str(plan_file), "--output", "json", cwd=project.root)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["promotion"]["images"][0]["status"] == "conflict"
    assert head_digest(project.prod_b, "web", "1.2.3") is None
    assert head_digest(project.prod_b, "web", "latest") is None
    assert head_digest(project.prod_b, "web", image.digest) is None
