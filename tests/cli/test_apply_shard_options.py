"""``promoter apply --shard`` and ``--finish``: bad input is one line and exit 2, read before
the plan (so nothing is read from a registry, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.env import clean_env

#: No Azure DevOps job variables, whatever runs the tests.
ENV = clean_env()


@pytest.mark.parametrize(
    ("shard", "says"),
    [
        ("0/4", "--shard '0/4': I must be between 1 and N (4)"),
        ("5/4", "--shard '5/4': I must be between 1 and N (4)"),
        ("x/y", "--shard 'x/y': not I/N or auto"),
        ("1/0", "--shard '1/0': N must be between 1 and 256"),
        ("3", "--shard '3': not I/N or auto"),
        ("auto", "--shard auto: SYSTEM_JOBPOSITIONINPHASE and SYSTEM_TOTALJOBSINPHASE not set"),
    ],
)
def test_a_bad_shard_is_one_line_and_exit_2(tmp_path: Path, shard: str, says: str) -> None:
    # the plan file does not exist: the shard is refused before the plan is read
    done = run_cli(["apply", "missing-plan.json", "--shard", shard], cwd=tmp_path, env=ENV)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {says}")
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "give --shard I/N" in done.stderr
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_shard_and_finish_together_are_refused_as_json_too(tmp_path: Path) -> None:
    args = ["apply", "plan.json", "--shard", "1/2", "--finish", "--output", "json"]
    done = run_cli(args, cwd=tmp_path, env=ENV)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --shard and --finish go to different jobs: run every --shard I/N first, "
        "then one --finish"
    ]
    document = json.loads(done.stdout)
    assert document["ok"] is False and document["exitCode"] == 2


def test_shard_auto_reads_the_azure_devops_job_position(tmp_path: Path) -> None:
    env = {**ENV, "SYSTEM_JOBPOSITIONINPHASE": "5", "SYSTEM_TOTALJOBSINPHASE": "4"}
    done = run_cli(["apply", "plan.json", "--shard", "auto"], cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: --shard auto (SYSTEM_JOBPOSITIONINPHASE='5', SYSTEM_TOTALJOBSINPHASE='4'): "
        "I must be between 1 and N (4)"
    )
    # a position within the phase is taken: then the plan is read (and is missing here)
    env["SYSTEM_JOBPOSITIONINPHASE"] = "2"
    done = run_cli(["apply", "plan.json", "--shard", "auto"], cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "plan.json" in done.stderr.splitlines()[0] and "--shard" not in done.stderr
