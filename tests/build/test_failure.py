"""Reading kaniko's output: log lines, the failing instruction, the Dockerfile line."""

from __future__ import annotations

from pathlib import Path

from promoter.build.dockerfile import base_images, parse_instructions
from promoter.build.failure import LogTail, build_failure, failing_instruction

DOCKERFILE = """\
# syntax comment
FROM scratch AS base
ENV A=1 \\
    B=2
COPY app /app

FROM base
COPY app /app
COPY conf /etc/conf
"""


def test_parse_instructions_joins_continuations_and_keeps_start_lines() -> None:
    parsed = [(i.line, i.keyword, i.arguments) for i in parse_instructions(DOCKERFILE)]
    assert parsed == [
        (2, "FROM", "scratch AS base"),
        (3, "ENV", "A=1 B=2"),
        (5, "COPY", "app /app"),
        (7, "FROM", "base"),
        (8, "COPY", "app /app"),
        (9, "COPY", "conf /etc/conf"),
    ]
    assert base_images(DOCKERFILE) == []


def test_log_tail_splits_chunks_into_lines() -> None:
    tail = LogTail(size=3)
    assert tail.feed("INFO[0000] FROM scr") == []
    assert tail.feed("atch\nINFO[0000] COPY app /app\r\npartial") == [
        "INFO[0000] FROM scratch",
        "INFO[0000] COPY app /app",
    ]
    assert tail.close() == ["partial"]
    assert list(tail.lines) == ["INFO[0000] FROM scratch", "INFO[0000] COPY app /app", "partial"]
    assert tail.started == ["INFO[0000] FROM scratch", "INFO[0000] COPY app /app"]


def test_repeated_instruction_is_matched_in_order() -> None:
    started = [
        "INFO[0000] FROM scratch AS base",
        "INFO[0000] ENV A=1 B=2",
        "INFO[0000] COPY app /app",
        "INFO[0001] FROM base",
        "INFO[0001] COPY app /app",
    ]
    found = failing_instruction(started, DOCKERFILE)
    assert found is not None and found.line == 8  # the second COPY app /app, not the first


def test_failure_message_names_file_line_and_reason(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(DOCKERFILE)
    tail = LogTail()
    tail.feed(
        "INFO[0000] FROM scratch AS base\nINFO[0000] ENV A=1 B=2\nINFO[0000] COPY app /app\n"
        "INFO[0001] FROM base\nINFO[0001] COPY app /app\nINFO[0001] COPY conf /etc/conf\n"
        "error building image: failed to get fileinfo for /workspace/conf: no such file\n"
    )
    error = build_failure(
        image="web",
        exit_code=1,
        tail=tail,
        dockerfile=dockerfile,
        dockerfile_label="app/Dockerfile",
    )
    assert error.message == (
        "build of web failed at app/Dockerfile:9 (COPY conf /etc/conf): "
        "error building image: failed to get fileinfo for /workspace/conf: no such file"
    )
    assert error.dockerfile_line == 9
    assert error.to_dict()["exitCode"] == 1


def test_explicit_line_wins(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(DOCKERFILE)
    tail = LogTail()
    tail.feed(
        "INFO[0000] line 2 of something harmless\nerror building image: parsing dockerfile: Dockerfile:7: bad\n"
    )
    error = build_failure(
        image="web", exit_code=1, tail=tail, dockerfile=dockerfile, dockerfile_label="Dockerfile"
    )
    assert error.dockerfile_line == 7
    assert "at Dockerfile:7:" in error.message


def test_missing_copy_source_points_at_the_copy_kaniko_never_announced(tmp_path: Path) -> None:
    # kaniko looks for COPY/ADD sources before it logs the instruction, so the
    # last instruction in its log is the one *before* the failing COPY.
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM scratch\nWORKDIR /srv\nCOPY index.html ./\nCOPY --chown=1:1 static/app.js ./static/\n"
    )
    tail = LogTail()
    tail.feed(
        "INFO[0000] No base image, nothing to extract\n"
        "INFO[0000] Unpacking rootfs as cmd COPY index.html ./ requires it.\n"
        "INFO[0000] WORKDIR /srv\n"
        "INFO[0000] Creating directory /srv with uid -1 and gid -1\n"
        "INFO[0000] Taking snapshot of files...\n"
        "error building image: error building stage: failed to get files used from context: "
        "failed to get fileinfo for /workspace/static/app.js: lstat /workspace/static/app.js: "
        "no such file or directory\n"
    )
    error = build_failure(
        image="web", exit_code=1, tail=tail, dockerfile=dockerfile, dockerfile_label="Dockerfile"
    )
    assert error.dockerfile_line == 4
    assert "at Dockerfile:4 (COPY --chown=1:1 static/app.js ./static/)" in error.message
