"""The in-container mode: the executor run as a subprocess (here: the stand-in script)."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from promoter.build import BuildSpec, CacheSettings, ExecutorSettings, KanikoFailed, build_image
from promoter.build.credentials import RegistryCredential
from promoter.build.runner import choose_mode
from promoter.build.subprocess_executor import EXECUTOR_PATH_ENV
from promoter.errors import BuildError
from tests.build.archive import read_archive

SECRET = "subprocess-secret-value"


def _spec(context: Path, **overrides: object) -> BuildSpec:
    fields: dict[str, object] = {
        "context": context,
        "name": "hello",
        "destinations": ("127.0.0.1:5999/staging/hello:build",),
        "executor": ExecutorSettings(timeout=60),
    }
    fields.update(overrides)
    return BuildSpec(**fields)  # type: ignore[arg-type]


def test_subprocess_build_writes_the_same_outputs(
    build_context: Path, standin_script: Path, tmp_path: Path
) -> None:
    lines: list[str] = []
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = build_image(
        _spec(
            build_context,
            build_args={"VERSION": "2.0.0"},
            labels={"org.opencontainers.image.source": "https://example.invalid/repo"},
            cache=CacheSettings(repo="127.0.0.1:5997/cache/hello"),
        ),
        output_dir=tmp_path / "out",
        on_log=lines.append,
        mode="subprocess",
        executor=standin_script,
        credentials=lambda host: RegistryCredential(host, "builder", SECRET),
        scratch_dir=scratch,
    )
    assert result.mode == "subprocess"
    assert result.tarball is not None
    archive = read_archive(result.tarball)
    assert len(archive.names) == 3
    assert result.digest == archive.registry_digest()
    assert (tmp_path / "out" / "digest").read_bytes() == result.digest.encode()
    labels = archive.config["config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == "2.0.0"
    assert labels["org.opencontainers.image.source"] == "https://example.invalid/repo"
    # The secret is nowhere on the executor's command line (it logs its argv) nor in its output.
    assert any(line.startswith("INFO[0000] stand-in: args: --dockerfile=") for line in lines)
    assert not any(SECRET in line for line in lines)
    # The private config reached the executor through DOCKER_CONFIG, with the cache host only.
    assert "INFO[0000] stand-in: docker config registries: 127.0.0.1:5997" in lines
    assert list(scratch.iterdir()) == []


def test_subprocess_reproducible_twice(
    build_context: Path, standin_script: Path, tmp_path: Path
) -> None:
    first = build_image(
        _spec(build_context), output_dir=tmp_path / "a", mode="subprocess", executor=standin_script
    )
    second = build_image(
        _spec(build_context), output_dir=tmp_path / "b", mode="subprocess", executor=standin_script
    )
    assert first.digest == second.digest


def test_subprocess_failure_and_line(
    build_context: Path, standin_script: Path, tmp_path: Path
) -> None:
    (build_context / "Dockerfile").write_text(
        "FROM scratch\nCOPY busybox \\\n     /busybox\nCOPY nothere /x\n"
    )
    with pytest.raises(KanikoFailed) as caught:
        build_image(
            _spec(build_context),
            output_dir=tmp_path / "o",
            mode="subprocess",
            executor=standin_script,
        )
    assert caught.value.exit_code == 1
    assert caught.value.dockerfile_line == 4
    assert caught.value.last_lines[-1].startswith("error building image:")


def test_subprocess_timeout_kills_the_executor(
    build_context: Path, standin_script: Path, tmp_path: Path
) -> None:
    text = (build_context / "Dockerfile").read_text()
    (build_context / "Dockerfile").write_text("# standin-sleep: 60\n" + text)
    started = time.monotonic()
    with pytest.raises(KanikoFailed, match="timed out after 1s"):
        build_image(
            _spec(build_context, executor=ExecutorSettings(timeout=1)),
            output_dir=tmp_path / "o",
            mode="subprocess",
            executor=standin_script,
        )
    assert time.monotonic() - started < 15


def test_executor_path_from_the_environment(
    build_context: Path, standin_script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EXECUTOR_PATH_ENV, str(standin_script))
    result = build_image(_spec(build_context), output_dir=tmp_path / "o", mode="subprocess")
    assert result.digest.startswith("sha256:")


def test_auto_mode_without_an_engine_uses_the_executor(
    standin_script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    assert choose_mode("auto", standin_script) == "subprocess"
    with pytest.raises(BuildError, match="no Docker engine is reachable"):
        choose_mode("auto", tmp_path / "kaniko" / "executor")


def test_missing_executor_is_a_build_error(build_context: Path, tmp_path: Path) -> None:
    fake = tmp_path / "executor"
    fake.write_text("not executable")
    fake.chmod(stat.S_IRUSR)
    with pytest.raises(BuildError, match="cannot start the kaniko executor"):
        build_image(
            _spec(build_context), output_dir=tmp_path / "o", mode="subprocess", executor=fake
        )


def test_custom_platform_reaches_the_image_config(
    build_context: Path, standin_script: Path, tmp_path: Path
) -> None:
    result = build_image(
        _spec(build_context, platform="linux/arm64/v8"),
        output_dir=tmp_path / "o",
        mode="subprocess",
        executor=standin_script,
    )
    assert result.platform == "linux/arm64/v8"
    assert result.tarball is not None
    archive = read_archive(result.tarball)
    config = archive.config
    assert (config["os"], config["architecture"], config["variant"]) == ("linux", "arm64", "v8")


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def test_ctrl_c_kills_the_executor_and_removes_the_config(
    build_context: Path, standin_script: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import threading

    text = (build_context / "Dockerfile").read_text()
    (build_context / "Dockerfile").write_text("# standin-sleep: 60\n" + text)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    marker = str(build_context)  # on the executor's argv: --context=dir://<context>

    def interrupt_when_running() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _processes_mentioning(marker):
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_running, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        build_image(
            _spec(build_context),
            output_dir=tmp_path / "o",
            mode="subprocess",
            executor=standin_script,
            scratch_dir=scratch,
        )
    assert _processes_mentioning(marker) == []
    assert list(scratch.iterdir()) == []
