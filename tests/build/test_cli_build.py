"""``promoter build`` end to end through the CLI: a real git checkout, dockerd, the stand-in."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.build.archive import read_archive
from tests.support.cli import run_cli
from tests.support.env import clean_env
from tests.support.git import git
from tests.support.kaniko_standin import BUSYBOX

pytestmark = pytest.mark.docker

PIPELINE = """\
version: 1
registries:
  staging:
    host: {staging}
    insecure: true
images:
  hello:
    build:
      context: app
      args:
        VERSION: "{{{{version}}}}"
        MINOR: "{{{{major}}}}.{{{{minor}}}}"
      executor:
        image: {executor}
        timeout: 2m
    tags:
      - type=semver,pattern={{{{version}}}}
      - type=sha
    labels:
      - org.opencontainers.image.title=hello
    staging: staging/hello
"""

DOCKERFILE = """\
FROM scratch
ARG VERSION
ARG MINOR
COPY busybox /busybox
LABEL org.example.version=$VERSION org.example.minor=$MINOR
ENTRYPOINT ["/busybox","echo","hello"]
"""


def make_checkout(root: Path, executor: str, staging: str) -> Path:
    """A git repository with pipeline.yml and app/, tagged v1.2.3 at HEAD."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "app").mkdir()
    shutil.copy2(BUSYBOX, root / "app" / "busybox")
    (root / "app" / "Dockerfile").write_text(DOCKERFILE)
    (root / "pipeline.yml").write_text(PIPELINE.format(executor=executor, staging=staging))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "init")
    git(root, "tag", "v1.2.3")
    return root


def _promoter(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(args, cwd=cwd, env={**clean_env(), **(env or {})}, timeout=300)


def test_build_no_push_reports_digest_and_tarball(standin_image: str, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, "127.0.0.1:5999")
    done = _promoter(checkout, "build", "--no-push", "--output", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (image,) = report["images"]
    assert image["image"] == "hello"
    assert image["version"] == "1.2.3"
    sha = git(checkout, "rev-parse", "--short=7", "HEAD")
    assert image["tags"] == [  # latest=auto: the semver rule adds latest
        "127.0.0.1:5999/hello:1.2.3",
        f"127.0.0.1:5999/hello:sha-{sha}",
        "127.0.0.1:5999/hello:latest",
    ]
    (build,) = image["builds"]
    assert build["pushed"] is False and build["staging"] is None
    assert build["destinations"][0] == "127.0.0.1:5999/hello:1.2.3"
    archive = read_archive(Path(build["tarball"]))
    assert build["digest"] == archive.registry_digest()
    labels = archive.config["config"]["Labels"]
    assert labels["org.example.version"] == "1.2.3"  # {{version}} rendered into the build arg
    assert labels["org.example.minor"] == "1.2"  # by the tag engine's own templates
    assert labels["org.opencontainers.image.title"] == "hello"  # the tag engine's labels
    assert labels["org.opencontainers.image.revision"] == git(checkout, "rev-parse", "HEAD")
    assert "== build hello" in done.stderr  # the group title, kaniko's lines below it
    assert "COPY busybox /busybox" in done.stderr
    shutil.rmtree(Path(build["tarball"]).parent.parent, ignore_errors=True)


def test_build_failure_exits_3_with_the_dockerfile_line(standin_image: str, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, "127.0.0.1:5999")
    (checkout / "app" / "Dockerfile").write_text("FROM scratch\nARG VERSION\nCOPY nope /nope\n")
    done = _promoter(checkout, "build", "--no-push")
    assert done.returncode == 3
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    first = errors[0]
    assert first.startswith("error: build of hello failed at ")
    assert "Dockerfile:3 (COPY nope /nope): error building image:" in first
    assert "Traceback" not in done.stderr


def test_build_failure_is_annotated_at_the_dockerfile_line(
    standin_image: str, tmp_path: Path
) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, "127.0.0.1:5999")
    (checkout / "app" / "Dockerfile").write_text("FROM scratch\nARG VERSION\nCOPY nope /nope\n")
    env = {"GITHUB_WORKSPACE": str(checkout), "RUNNER_TEMP": str(tmp_path), "TMPDIR": str(tmp_path)}
    done = _promoter(checkout, "--ci", "github", "build", "--no-push", env=env)
    assert done.returncode == 3
    (annotation,) = [line for line in done.stderr.splitlines() if line.startswith("::error ")]
    assert annotation.startswith(
        "::error file=app/Dockerfile,line=3,title=build failed::build of hello"
    )


def test_unknown_image_is_bad_input(standin_image: str, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, "127.0.0.1:5999")
    done = _promoter(checkout, "build", "--no-push", "--image", "nope")
    assert done.returncode == 2
    assert "no image named 'nope'" in done.stderr


@pytest.mark.parametrize(
    ("service", "opening", "closing"),
    [("github", "::group::", "::endgroup::"), ("azure-devops", "##[group]", "##[endgroup]")],
)
def test_build_and_run_group_kaniko_alike_on_ci(
    service: str, opening: str, closing: str, standin_image: str, tmp_path: Path
) -> None:
    # Both commands log builds through one class: the same group around the same lines
    # (run used to print "== title" on CI while build opened a group).
    checkout = make_checkout(tmp_path / "repo", standin_image, "127.0.0.1:5999")
    logs = {}
    for command in (["build", "--no-push"], ["run", "--stage", "build"]):
        temp = {"RUNNER_TEMP": str(tmp_path), "AGENT_TEMPDIRECTORY": str(tmp_path)}
        temp["TMPDIR"] = str(tmp_path)  # build --no-push keeps its tarball there
        done = _promoter(checkout, "--ci", service, *command, env=temp)
        assert done.returncode == 0, done.stderr
        lines = done.stderr.splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith(opening))
        last = lines.index(closing, first)
        assert any("COPY busybox /busybox" in line for line in lines[first:last])
        logs[command[0]] = lines[first]
    assert logs["build"] == logs["run"] == f"{opening}build hello"


def test_build_inside_a_kaniko_image_runs_the_executor(
    standin_script: Path, tmp_path: Path
) -> None:
    # No Docker engine answers and an executor is present: the in-container mode.
    checkout = make_checkout(
        tmp_path / "repo", "unused.invalid/executor:never-pulled", "127.0.0.1:5999"
    )
    env = clean_env()
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-engine.sock"
    env["PROMOTER_KANIKO_EXECUTOR"] = str(standin_script)
    done = run_cli(["build", "--no-push", "--output", "json"], cwd=checkout, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    (build,) = json.loads(done.stdout)["images"][0]["builds"]
    assert build["mode"] == "subprocess"
    assert build["digest"] == read_archive(Path(build["tarball"])).registry_digest()
    shutil.rmtree(Path(build["tarball"]).parent.parent, ignore_errors=True)


def test_build_gets_only_the_cache_registry_credentials(standin_image: str, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, "127.0.0.1:5999")
    pipeline = (checkout / "pipeline.yml").read_text()
    pipeline = pipeline.replace(
        "images:\n",
        "  cache:\n    host: 127.0.0.1:5998\n    insecure: true\nimages:\n",
    ).replace(
        "      executor:\n",
        "      push: kaniko\n      cache:\n        repo: cache/hello-cache\n        ttl: 1d\n"
        "      executor:\n",
    )
    (checkout / "pipeline.yml").write_text(pipeline)
    git(checkout, "commit", "-qam", "cache")
    env = clean_env()
    secret = "cli-build-secret-9f2c"
    env["PROMOTER_REGISTRY_USERNAME"] = "builder"  # offered for every registry
    env["PROMOTER_REGISTRY_PASSWORD"] = secret
    done = run_cli(["build", "--no-push", "--output", "json"], cwd=checkout, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "stand-in: docker config registries: 127.0.0.1:5998\n" in done.stderr
    assert "--cache-repo=127.0.0.1:5998/hello-cache" in done.stderr  # the argv the stand-in logged
    assert "--cache-ttl=86400s" in done.stderr
    assert secret not in done.stderr and secret not in done.stdout
    # --no-push wins over push: kaniko: kaniko wrote a tarball and pushed nothing.
    (build,) = json.loads(done.stdout)["images"][0]["builds"]
    assert build["pushed"] is False and Path(build["tarball"]).is_file()
    shutil.rmtree(Path(build["tarball"]).parent.parent, ignore_errors=True)
