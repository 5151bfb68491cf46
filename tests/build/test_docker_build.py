"""Builds through the real Docker engine with the kaniko stand-in image."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from promoter.build import (
    BuildSpec,
    CacheSettings,
    ExecutorSettings,
    KanikoFailed,
    RegistryCredential,
    build_image,
)
from promoter.cli.main import exit_code_for
from promoter.errors import BuildError
from tests.build.archive import read_archive
from tests.build.conftest import containers_labelled

pytestmark = pytest.mark.docker

SECRET = "s3cr3t-never-on-argv"


def _spec(context: Path, image: str, name: str, **overrides: Any) -> BuildSpec:
    fields: dict[str, Any] = {
        "context": context,
        "name": name,
        "destinations": ("127.0.0.1:5999/staging/hello:build",),
        "executor": ExecutorSettings(image=image, timeout=120),
    }
    fields.update(overrides)
    return BuildSpec(**fields)


def test_successful_build_writes_kaniko_outputs(
    build_context: Path, standin_image: str, unique_name: str, tmp_path: Path
) -> None:
    lines: list[str] = []
    spec = _spec(
        build_context,
        standin_image,
        unique_name,
        build_args={"VERSION": "1.2.3"},
        labels={"org.opencontainers.image.revision": "abc123"},
    )
    result = build_image(spec, output_dir=tmp_path / "out", on_log=lines.append, mode="docker")

    assert result.mode == "docker"
    assert result.tarball == tmp_path / "out" / "image.tar"
    digest_text = (tmp_path / "out" / "digest").read_bytes()
    assert digest_text == result.digest.encode()  # sha256:<hex>, no trailing newline
    assert len(result.digest) == len("sha256:") + 64 and not digest_text.endswith(b"\n")

    archive = read_archive(result.tarball)
    config_name = archive.manifest[0]["Config"]
    layer_name = archive.manifest[0]["Layers"][0]
    assert sorted(archive.names) == sorted([config_name, layer_name, "manifest.json"])
    assert config_name == "sha256:" + hashlib.sha256(archive.config_bytes).hexdigest()
    assert layer_name == hashlib.sha256(archive.layer_bytes).hexdigest() + ".tar.gz"
    assert archive.manifest[0]["RepoTags"] == ["127.0.0.1:5999/staging/hello:build"]
    # The digest is that of the manifest a registry receives for this tarball.
    assert result.digest == archive.registry_digest()

    config = archive.config
    assert config["created"] == "1970-01-01T00:00:00Z"  # --reproducible is the default
    assert config["config"]["Entrypoint"] == ["/busybox", "echo", "hello"]
    assert config["config"]["Labels"] == {
        "org.opencontainers.image.version": "1.2.3",  # the build arg reached the Dockerfile
        "org.opencontainers.image.revision": "abc123",  # --label from the tag engine
    }
    # The context was mounted read-only: the stand-in could not write into /workspace.
    assert "INFO[0000] stand-in: context /workspace writable=no" in lines
    assert not (build_context / ".standin-write-probe").exists()
    assert "INFO[0000] stand-in: docker config writable=no" in lines
    assert any("COPY busybox /busybox" in line for line in lines)  # live logs reached us
    assert containers_labelled(unique_name) == []


def test_reproducible_builds_give_the_same_digest(
    build_context: Path, standin_image: str, unique_name: str, tmp_path: Path
) -> None:
    spec = _spec(build_context, standin_image, unique_name)
    first = build_image(spec, output_dir=tmp_path / "one", mode="docker")
    os.utime(build_context / "hello.txt", (1_000_000, 1_000_000))  # a fresh checkout's mtimes
    second = build_image(spec, output_dir=tmp_path / "two", mode="docker")
    assert first.digest == second.digest

    plain = build_image(
        _spec(build_context, standin_image, unique_name, reproducible=False),
        output_dir=tmp_path / "three",
        mode="docker",
    )
    assert plain.tarball is not None
    assert read_archive(plain.tarball).config["created"] != "1970-01-01T00:00:00Z"
    assert plain.digest != first.digest


def test_failing_copy_names_the_dockerfile_line(
    build_context: Path, standin_image: str, unique_name: str, tmp_path: Path
) -> None:
    (build_context / "Dockerfile").write_text(
        "FROM scratch\n# the next line copies a file that is not there\nENV A=1\n"
        'COPY busybox /busybox\nCOPY missing.txt /missing.txt\nENTRYPOINT ["/busybox"]\n'
    )
    with pytest.raises(KanikoFailed) as caught:
        build_image(
            _spec(build_context, standin_image, unique_name),
            output_dir=tmp_path / "o",
            mode="docker",
        )
    error = caught.value
    assert exit_code_for(error) == 3
    assert error.exit_code == 1
    assert error.dockerfile_line == 5
    assert "Dockerfile:5 (COPY missing.txt /missing.txt)" in error.message
    assert "error building image:" in error.message
    assert error.last_lines[-1].startswith("error building image:")
    assert error.detail is not None and "fileinfo for /workspace/missing.txt" in error.detail
    # As with kaniko, the failing COPY was never announced; the missing path locates it.
    assert "INFO[0000] COPY busybox /busybox" in error.last_lines
    assert not any("COPY missing.txt" in line for line in error.last_lines)
    assert not (tmp_path / "o" / "image.tar").exists()
    assert containers_labelled(unique_name) == []


def test_parse_error_line_named_by_kaniko_is_used(
    build_context: Path, standin_image: str, unique_name: str, tmp_path: Path
) -> None:
    (build_context / "Dockerfile").write_text("FROM scratch\nCOPY busybox /busybox\nRUN true\n")
    with pytest.raises(KanikoFailed) as caught:
        build_image(
            _spec(build_context, standin_image, unique_name),
            output_dir=tmp_path / "o",
            mode="docker",
        )
    assert caught.value.dockerfile_line == 3
    assert "Dockerfile:3" in caught.value.message


def test_timeout_stops_and_removes_the_container(
    build_context: Path, standin_image: str, unique_name: str, tmp_path: Path
) -> None:
    dockerfile = (build_context / "Dockerfile").read_text()
    (build_context / "Dockerfile").write_text("# standin-sleep: 60\n" + dockerfile)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    spec = _spec(
        build_context,
        standin_image,
        unique_name,
        executor=ExecutorSettings(image=standin_image, timeout=2),
    )
    started = time.monotonic()
    with pytest.raises(KanikoFailed) as caught:
        build_image(spec, output_dir=tmp_path / "o", mode="docker", scratch_dir=scratch)
    assert time.monotonic() - started < 30
    assert "timed out after 2s" in caught.value.message
    assert caught.value.exit_code is None
    assert containers_labelled(unique_name) == []
    assert list(scratch.iterdir()) == []  # the private Docker config is gone too


def _first_container(name: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        found = containers_labelled(name)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no container labelled {name} appeared")


def test_container_gets_only_needed_credentials_and_no_secret_on_argv(
    build_context: Path, standin_image: str, unique_name: str, tmp_path: Path
) -> None:
    dockerfile = (build_context / "Dockerfile").read_text()
    (build_context / "Dockerfile").write_text("# standin-sleep: 3\n" + dockerfile)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    asked: list[str] = []

    def lookup(host: str) -> RegistryCredential:
        asked.append(host)
        return RegistryCredential(host, username="builder", password=SECRET)

    spec = _spec(
        build_context,
        standin_image,
        unique_name,
        cache=CacheSettings(repo="127.0.0.1:5998/cache/hello", ttl="24h"),
        insecure_registries=("127.0.0.1:5998",),
    )
    lines: list[str] = []
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = build_image(
                spec,
                output_dir=tmp_path / "o",
                credentials=lookup,
                on_log=lines.append,
                mode="docker",
                scratch_dir=scratch,
            )
        except BaseException as error:
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    try:
        container = _first_container(unique_name, time.monotonic() + 30)
        inspected = json.loads(
            subprocess.run(
                ["docker", "inspect", container], capture_output=True, text=True, check=True
            ).stdout
        )[0]
        config_dirs = list(scratch.iterdir())
        assert len(config_dirs) == 1
        assert oct(config_dirs[0].stat().st_mode & 0o777) == oct(0o700)
        config_file = config_dirs[0] / "config.json"
        assert oct(config_file.stat().st_mode & 0o777) == oct(0o600)
        auths = json.loads(config_file.read_text())["auths"]
    finally:
        worker.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")

    # Only the registry the build talks to (the cache) was asked for and written.
    assert asked == ["127.0.0.1:5998"]
    assert list(auths) == ["127.0.0.1:5998"]
    assert "INFO[0000] stand-in: docker config registries: 127.0.0.1:5998" in lines
    # No secret on the command line or in the environment of the container.
    visible = json.dumps(
        [
            inspected["Args"],
            inspected["Config"]["Cmd"],
            inspected["Config"]["Env"],
            inspected["Path"],
        ]
    )
    assert SECRET not in visible
    assert "--cache-repo=127.0.0.1:5998/cache/hello" in inspected["Args"]
    assert "--insecure-registry=127.0.0.1:5998" in inspected["Args"]
    assert "container=docker" in inspected["Config"]["Env"]
    assert "DOCKER_CONFIG=/kaniko/.docker" in inspected["Config"]["Env"]
    assert inspected["HostConfig"]["NetworkMode"] == "host"
    mounts = {m["Destination"]: m for m in inspected["Mounts"]}
    assert mounts["/workspace"]["RW"] is False
    assert mounts["/kaniko/.docker"]["RW"] is False
    assert mounts["/output"]["RW"] is True
    # Afterwards: the config directory and the container are gone.
    assert list(scratch.iterdir()) == []
    assert containers_labelled(unique_name) == []


def test_ctrl_c_removes_the_container_and_the_config(
    build_context: Path, standin_image: str, unique_name: str, tmp_path: Path
) -> None:
    dockerfile = (build_context / "Dockerfile").read_text()
    (build_context / "Dockerfile").write_text("# standin-sleep: 60\n" + dockerfile)
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    def interrupt_when_running() -> None:
        _first_container(unique_name, time.monotonic() + 30)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C delivers

    interrupter = threading.Thread(target=interrupt_when_running, daemon=True)
    interrupter.start()
    with pytest.raises(KeyboardInterrupt):
        build_image(
            _spec(build_context, standin_image, unique_name),
            output_dir=tmp_path / "o",
            mode="docker",
            scratch_dir=scratch,
        )
    interrupter.join(timeout=5)
    assert containers_labelled(unique_name) == []
    assert list(scratch.iterdir()) == []


def test_missing_executor_image_fails_clearly(
    build_context: Path, standin_image: str, unique_name: str, tmp_path: Path
) -> None:
    from tests.support.registry import free_port

    missing = f"127.0.0.1:{free_port()}/kaniko-project/executor:v0-missing"
    lines: list[str] = []
    with pytest.raises(BuildError) as caught:
        build_image(
            _spec(build_context, missing, unique_name, executor=ExecutorSettings(image=missing)),
            output_dir=tmp_path / "o",
            on_log=lines.append,
            mode="docker",
        )
    error = caught.value
    assert error.message.startswith(f"cannot pull the kaniko executor image {missing}:")
    assert error.hint is not None and "build.executor.image" in error.hint
    assert any(line.startswith("pulling the kaniko executor image") for line in lines)
    assert containers_labelled(unique_name) == []


def test_dockerfile_outside_the_context_is_mounted_read_only(
    build_context: Path, standin_image: str, unique_name: str, tmp_path: Path
) -> None:
    outside = tmp_path / "dockerfiles" / "hello.Dockerfile"
    outside.parent.mkdir()
    (build_context / "Dockerfile").rename(outside)
    result = build_image(
        _spec(build_context, standin_image, unique_name, dockerfile=str(outside)),
        output_dir=tmp_path / "o",
        mode="docker",
    )
    assert result.tarball is not None
    assert read_archive(result.tarball).config["config"]["Entrypoint"] == [
        "/busybox",
        "echo",
        "hello",
    ]
