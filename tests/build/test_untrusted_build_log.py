"""Build output is untrusted text: a Dockerfile's lines (a pull request's) print what they
like, and none of it becomes a CI service command. On GitHub the block is fenced with
``::stop-commands::<random token>`` (and shown as it was); on Azure DevOps, which has no
such fence, each line is neutralized. Read back by each service's own rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.build.test_cli_build import make_checkout
from tests.support.untrusted import MARK, SERVICES, assert_steers_nothing

pytestmark = pytest.mark.docker

HOSTILE_DOCKERFILE = f"""\
FROM scratch
COPY busybox /busybox
LABEL org.example.cr="x\r::set-output name={MARK}::1\r##vso[task.prependpath]{MARK}"
LABEL org.example.inline="x ##vso[task.setvariable variable={MARK}]1 ##[error]{MARK}"
ENTRYPOINT ["/busybox","echo","hello"]
"""


@pytest.mark.parametrize("service", SERVICES)
def test_executor_output_steers_nothing(standin_image: str, service: str, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, "127.0.0.1:5999")
    (checkout / "app" / "Dockerfile").write_text(HOSTILE_DOCKERFILE)
    output = assert_steers_nothing(
        service, ["build", "--no-push", "-f", str(checkout / "pipeline.yml")], tmp_path,
        TMPDIR=str(tmp_path), DOCKER_HOST="unix:///var/run/docker.sock",
    )  # fmt: skip
    assert "LABEL org.example.inline" in output  # the build's lines are shown
    if service == "github":
        # The fence: opened with a random token, closed with the same, around the build.
        tokens = re.findall(r"^::stop-commands::(\S+)$", output, re.MULTILINE)
        assert len(tokens) == 1 and len(tokens[0]) >= 32
        assert f"::{tokens[0]}::" in output.splitlines()
        assert f"##vso[task.setvariable variable={MARK}]1" in output  # as it was, fenced
    else:
        assert f"\\u0023#vso[task.setvariable variable={MARK}]1" in output
