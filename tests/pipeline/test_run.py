"""``promoter run`` stage by stage on real registries (and a real Docker engine for the build)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.promote.project import Project, head_digest, promoter_cli

pytestmark = pytest.mark.registry


def test_run_reports_every_stage_as_json(make_project: Callable[..., Project]) -> None:
    project = make_project()
    image = project.seed(layer_sizes=(50_000, 40_000))
    result = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file), "-o", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["exitCode"] == 0
    assert report["stages"] == ["check", "promote"]
    assert report["tags"][0]["tagNames"][0] == "1.2.3"
    (rule,) = report["checks"]["web"]["results"]
    assert (rule["rule"], rule["status"]) == ("non-root", "pass")
    (planned,) = report["plan"]["images"]
    assert planned["digest"] == image.digest
    (promoted,) = report["promotion"]["images"]
    assert promoted["status"] == "promoted"
    assert promoted["bytesCopied"] == 2 * image.blob_bytes  # streamed to two registries
    assert {d["destination"] for d in promoted["destinations"]} == {
        f"{project.prod_a.host}/web",
        f"{project.prod_b.host}/web",
    }
    assert all(d["record"].startswith("sha256:") for d in promoted["destinations"])
    assert report["seconds"] > 0
    # the re-run: every tag a noop, nothing checked, nothing copied
    again = json.loads(
        promoter_cli(
            "run", "--stage", "check,promote", "-f", str(project.file), "-o", "json"
        ).stdout
    )
    assert again["plan"]["summary"]["noop"] == 4
    assert again["checks"] == {}
    assert again["promotion"]["images"][0]["status"] == "up-to-date"
    assert again["promotion"]["bytesCopied"] == 0


def test_policy_failure_blocks_and_exits_1(make_project: Callable[..., Project]) -> None:
    project = make_project()
    project.seed(user="root")
    result = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
    assert result.returncode == 1, result.stderr
    assert "blocked" in result.stdout
    assert result.stderr.startswith("error: web: blocked: policy checks failed")
    assert "fail  non-root" in result.stdout
    for registry in (project.prod_a, project.prod_b):
        assert head_digest(registry, "web", "1.2.3") is None
    assert project.prod_a.blob_count() == 0 and project.prod_b.blob_count() == 0


def test_check_stage_alone_writes_nothing(make_project: Callable[..., Project]) -> None:
    project = make_project(images=("web", "api"))
    project.seed("web", seed="w")
    project.seed("api", seed="a", user="0")
    result = promoter_cli("run", "--stage", "check", "-f", str(project.file), "-o", "json")
    assert result.returncode == 1, result.stderr  # api runs as root
    assert result.stderr.startswith("error: policy checks failed for api")
    report = json.loads(result.stdout)
    assert report["checks"]["web"]["ok"] is True
    assert report["checks"]["api"]["ok"] is False
    assert report["promotion"] is None
    assert project.prod_a.blob_count() == 0 and project.prod_b.blob_count() == 0


def test_image_option_selects_images(make_project: Callable[..., Project]) -> None:
    project = make_project(images=("web", "api"))
    web = project.seed("web", seed="w")
    project.seed("api", seed="a")
    result = promoter_cli(
        "run", "--stage", "check,promote", "--image", "web", "-f", str(project.file)
    )
    assert result.returncode == 0, result.stderr
    assert head_digest(project.prod_b, "web", "1.2.3") == web.digest
    assert head_digest(project.prod_b, "api", "1.2.3") is None
    unknown = promoter_cli("run", "--image", "nope", "-f", str(project.file))
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: no image named 'nope'")


def test_bad_pipeline_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "pipeline.yml"
    bad.write_text("version: 1\nimages: {}\nregistries: {}\nbogus: 1\n")
    for command in (["plan"], ["run"], ["run", "--dry-run"]):
        result = promoter_cli(*command, "-f", str(bad))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"error: {bad}:")
        assert "Traceback" not in result.stderr


@pytest.mark.docker
def test_build_push_check_promote_with_kaniko(
    make_project: Callable[..., Project], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The whole pipeline: kaniko (the stand-in executor in the real Docker engine)
    builds, promoter pushes to staging, checks the pushed digest, promotes it."""
    from tests.conftest import require_tool
    from tests.support.kaniko_standin import BUSYBOX, build_standin_image, standin_missing_reason

    require_tool(standin_missing_reason())
    executor = build_standin_image(tmp_path_factory.mktemp("standin"))
    project = make_project()
    app = project.root / "app"
    shutil.copy2(BUSYBOX, app / "busybox")
    (app / "Dockerfile").write_text(
        'FROM scratch\nCOPY busybox /busybox\nUSER 1000\nENTRYPOINT ["/busybox","echo","hi"]\n'
    )
    text = project.file.read_text().replace(
        "    build:\n      context: app\n",
        f"    build:\n      context: app\n      executor:\n        image: {executor}\n",
    )
    project.file.write_text(text)
    result = promoter_cli("run", "-f", str(project.file), "-o", "json", timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (build,) = report["build"]["images"][0]["builds"]
    digest = build["digest"]
    assert build["pushed"] is True
    assert report["plan"]["images"][0]["digestFrom"] == "build"
    assert report["plan"]["images"][0]["digest"] == digest
    assert report["checks"]["web"]["ok"] is True
    assert head_digest(project.staging, "web", "1.2.3") == digest
    for registry in (project.prod_a, project.prod_b):
        assert head_digest(registry, "web", "1.2.3") == digest
        assert head_digest(registry, "web", "latest") == digest


def test_within_one_registry_no_blob_bytes_move(make_project: Callable[..., Project]) -> None:
    """prod-a lives in the staging registry: its copy is a cross-repository mount."""
    project = make_project(
        promote='- to: [prod-a/released/{name}, prod-b/{name}]\n  tags: ["{{version}}"]\n'
        "  when: tag\n"
    )
    project.hosts = {**project.hosts, "prod-a": project.staging.host}
    project.write()
    image = project.seed(layer_sizes=(200_000, 100_000))
    result = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file), "-o", "json")
    assert result.returncode == 0, result.stderr
    (promoted,) = json.loads(result.stdout)["promotion"]["images"]
    copies = {d["destination"]: d["copy"] for d in promoted["destinations"]}
    same = copies[f"{project.staging.host}/released/web"]
    other = copies[f"{project.prod_b.host}/web"]
    assert same["bytes"]["copied"] == 0
    assert same["bytes"]["mounted"] == image.blob_bytes
    assert other["bytes"]["copied"] == image.blob_bytes
    assert head_digest(project.staging, "released/web", "1.2.3") == image.digest


def test_run_shows_the_blobs_moving_unless_quiet(make_project: Callable[..., Project]) -> None:
    project = make_project(images=("web", "api"))
    web = project.seed("web", seed="w", layer_sizes=(30_000,))
    project.seed("api", seed="a", layer_sizes=(20_000,))
    run = ("run", "--stage", "check,promote", "-f", str(project.file))
    loud = promoter_cli(*run, "--image", "web", "-o", "json")
    assert loud.returncode == 0, loud.stderr
    json.loads(loud.stdout)  # the report alone on stdout; progress goes to stderr
    for production in (project.prod_a, project.prod_b):
        assert f"-> {production.host}/web: 2 blobs" in loud.stderr
    assert f"blob {web.layer_digests[0].split(':')[1][:12]} copied" in loud.stderr
    quiet = promoter_cli(*run, "--image", "api", "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert head_digest(project.prod_b, "api", "1.2.3") is not None  # it did copy
    assert quiet.stderr == ""
