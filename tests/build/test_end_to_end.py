"""Build, push to a real local registry, ``docker pull`` the staging digest and run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from promoter.build import BuildSpec, ExecutorSettings, build_image
from promoter.build.push import StagingPusher
from promoter.registry.access.options import RegistryOptions
from tests.build.test_cli_build import _promoter, make_checkout
from tests.support.registry import Registry

pytestmark = [pytest.mark.docker, pytest.mark.registry]


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def _pull_and_run(reference: str) -> str:
    pulled = _docker("pull", reference)
    assert pulled.returncode == 0, pulled.stderr
    try:
        ran = _docker("run", "--rm", "--network", "host", reference)
        assert ran.returncode == 0, ran.stderr
        return ran.stdout
    finally:
        _docker("image", "rm", "-f", reference)


def test_build_push_pull_run(
    build_context: Path, standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    repository = f"{registry.host}/staging/hello-e2e"
    spec = BuildSpec(
        context=build_context,
        name="hello-e2e",
        destinations=(f"{repository}:1.0.0", f"{repository}:latest"),
        executor=ExecutorSettings(image=standin_image, timeout=120),
    )
    result = build_image(spec, output_dir=tmp_path / "out", mode="docker")
    options = RegistryOptions.from_environment(insecure_registries=[registry.host])
    with StagingPusher(options) as push:
        pushed = push(spec, result)
    # kaniko's digest file names exactly the manifest the registry now holds.
    assert pushed.digest == result.digest
    assert pushed.reference == f"{repository}@{result.digest}"
    assert pushed.tags == ("1.0.0", "latest")

    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{repository}:1.0.0"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(inspected.stdout)["Digest"] == result.digest
    assert _pull_and_run(pushed.reference) == "hello\n"


def test_cli_build_pushes_to_staging(
    standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, registry.host)
    done = _promoter(checkout, "build", "--output", "json")
    assert done.returncode == 0, done.stderr
    (image,) = json.loads(done.stdout)["images"]
    (build,) = image["builds"]
    assert build["pushed"] is True
    assert build["staging"] == f"{registry.host}/hello@{build['digest']}"
    assert build["stagingTags"] == [tag.rsplit(":", 1)[1] for tag in image["tags"]]
    assert "kanikoDigest" not in build  # kaniko's digest is the registry's
    assert not Path(build["tarball"]).exists()  # pushed, then cleaned up
    assert _pull_and_run(build["staging"]) == "hello\n"


def test_executor_image_is_pulled_with_progress_when_missing(
    build_context: Path, standin_image: str, registry: Registry, unique_name: str, tmp_path: Path
) -> None:
    remote = f"{registry.host}/kaniko-project/executor:standin-{unique_name[-8:]}"
    assert _docker("tag", standin_image, remote).returncode == 0
    pushed = _docker("push", remote)
    assert pushed.returncode == 0, pushed.stderr
    repo_digest = _docker("image", "inspect", "--format", "{{index .RepoDigests 0}}", remote)
    digest = repo_digest.stdout.strip().rsplit("@", 1)[1]
    # The engine no longer knows the name: the runner must pull it (pinned as name:tag@digest).
    assert _docker("image", "rm", remote).returncode == 0
    pinned = f"{remote}@{digest}"
    lines: list[str] = []
    try:
        result = build_image(
            BuildSpec(
                context=build_context,
                name=unique_name,
                executor=ExecutorSettings(image=pinned, timeout=120),
            ),
            output_dir=tmp_path / "out",
            on_log=lines.append,
            mode="docker",
        )
    finally:
        _docker("image", "rm", "-f", pinned, remote, remote.rsplit(":", 1)[0] + f"@{digest}")
    assert result.digest.startswith("sha256:")
    assert lines[0] == f"pulling the kaniko executor image {pinned}"
    assert any(line.startswith("pull: ") for line in lines)


def test_push_kaniko_pushes_from_the_container(
    build_context: Path, standin_image: str, registry: Registry, unique_name: str, tmp_path: Path
) -> None:
    from promoter.build import RegistryCredential

    repository = f"{registry.host}/staging/pushed-by-kaniko"
    asked: list[str] = []

    def lookup(host: str) -> RegistryCredential:
        asked.append(host)
        return RegistryCredential(host, "builder", "kaniko-push-secret")

    lines: list[str] = []
    result = build_image(
        BuildSpec(
            context=build_context,
            name=unique_name,
            destinations=(f"{repository}:2.0.0",),
            executor=ExecutorSettings(image=standin_image, timeout=120),
            insecure_registries=(registry.host,),
            push="kaniko",
        ),
        output_dir=tmp_path / "out",
        credentials=lookup,
        on_log=lines.append,
        mode="docker",
    )
    assert result.tarball is None
    assert result.pushed_to == (f"{repository}:2.0.0",)
    # Only the destination's registry got credentials: kaniko pushes there.
    assert asked == [registry.host]
    assert f"INFO[0000] stand-in: docker config registries: {registry.host}" in lines
    assert not any("kaniko-push-secret" in line for line in lines)
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{repository}:2.0.0"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(inspected.stdout)["Digest"] == result.digest  # the digest file's
    assert _pull_and_run(f"{repository}@{result.digest}") == "hello\n"


def test_cli_build_with_push_kaniko(standin_image: str, registry: Registry, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, registry.host)
    pipeline = (checkout / "pipeline.yml").read_text()
    (checkout / "pipeline.yml").write_text(
        pipeline.replace("      executor:\n", "      push: kaniko\n      executor:\n")
    )
    done = _promoter(checkout, "build", "--output", "json")
    assert done.returncode == 0, done.stderr
    (image,) = json.loads(done.stdout)["images"]
    (build,) = image["builds"]
    assert build["pushed"] is True and build["tarball"] is None
    assert build["staging"] == f"{registry.host}/hello@{build['digest']}"
    assert build["pushedTo"] == image["tags"]  # kaniko wrote every staging tag itself
    assert build["stagingTags"] == [tag.rsplit(":", 1)[1] for tag in image["tags"]]
    assert _pull_and_run(image["tags"][0]) == "hello\n"


def test_cli_builds_and_pushes_every_platform(
    standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, registry.host)
    pipeline = (checkout / "pipeline.yml").read_text()
    (checkout / "pipeline.yml").write_text(
        pipeline.replace(
            "      executor:\n", "      platforms: [linux/amd64, linux/arm64]\n      executor:\n"
        )
    )
    done = _promoter(checkout, "build", "--output", "json")
    assert done.returncode == 0, done.stderr
    (image,) = json.loads(done.stdout)["images"]
    amd, arm = image["builds"]
    assert (amd["platform"], arm["platform"]) == ("linux/amd64", "linux/arm64")
    assert amd["digest"] != arm["digest"]
    assert amd["stagingTags"] == [
        "1.2.3-linux-amd64",
        amd["stagingTags"][1],
        "latest-linux-amd64",
    ]
    assert arm["stagingTags"][0] == "1.2.3-linux-arm64"
    for build, arch in ((amd, "amd64"), (arm, "arm64")):
        raw = subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", "--config", f"docker://{build['staging']}"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(raw.stdout)["architecture"] == arch
    assert "== build hello-linux-arm64 (linux/arm64)" in done.stderr
    # The platforms are joined into one index under the image's own staging tags.
    index = image["index"]
    assert index["stagingTags"] == [tag.rsplit(":", 1)[1] for tag in image["tags"]]
    raw_index = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{image['tags'][0]}"],
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(raw_index.stdout)
    assert document["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [(m["digest"], m["platform"]["architecture"]) for m in document["manifests"]] == [
        (amd["digest"], "amd64"),
        (arm["digest"], "arm64"),
    ]
    assert _pull_and_run(f"{registry.host}/hello@{index['digest']}") == "hello\n"
