"""``promoter run --stage check`` with the provenance rule: the commit a provenance must
name is the pipeline's git context (its checkout's HEAD), through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.policy.attesting import envelope, provenance, push_att_tag
from tests.policy.crafting import generate_key, public_pem
from tests.promote.conftest import make_project
from tests.promote.project import Project, promoter_cli
from tests.support.git import git

__all__ = ["make_project"]

pytestmark = pytest.mark.registry

POLICIES = (
    "  - rule: provenance\n    key: cosign.pub\n"
    '    source: "https://github.com/acme/*"\n    builder: "https://github.com/acme/*"\n'
)


def test_run_check_stage_requires_the_checkouts_commit(
    make_project: Callable[..., Project],
) -> None:
    project = make_project(policies=POLICIES)
    key = generate_key()
    (project.root / "cosign.pub").write_bytes(public_pem(key))
    image = project.seed()
    head = git(project.root, "rev-parse", "HEAD")
    data = envelope(provenance(image.digest, head), key)
    push_att_tag(
        [(data, "https://slsa.dev/provenance/v1")], image.digest, project.staging.url, "web"
    )

    result = promoter_cli("run", "--stage", "check", "-f", str(project.file), "-o", "json")
    assert result.returncode == 0, result.stderr
    (rule,) = json.loads(result.stdout)["checks"]["web"]["results"]
    assert (rule["rule"], rule["status"]) == ("provenance", "pass")
    assert head[:12] in rule["message"] and "cosign.pub" in rule["message"]

    # A new commit carries the release tag now: the provenance names the old one.
    git(project.root, "commit", "-q", "--allow-empty", "-m", "next")
    git(project.root, "tag", "-f", project.git_tag)
    moved = git(project.root, "rev-parse", "HEAD")
    result = promoter_cli("run", "--stage", "check", "-f", str(project.file), "-o", "json")
    assert result.returncode == 1, result.stderr
    (rule,) = json.loads(result.stdout)["checks"]["web"]["results"]
    assert rule["status"] == "fail"
    assert f"another commit ({head[:12]}), not the one promoted ({moved[:12]})" in rule["message"]
    # and a promotion is blocked by it
    result = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
    assert result.returncode == 1 and "blocked" in result.stdout
