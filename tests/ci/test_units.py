"""The CI adapters' parts alone: detection, escaping, outputs, annotations, the summary bound."""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest

from promoter.ci import azure, github
from promoter.ci.adapter import CiAdapter
from promoter.ci.annotations import Annotation, annotations_of, limit_annotations
from promoter.ci.outputs import step_outputs
from promoter.ci.service import detect_service
from promoter.ci.summary import render_summary
from promoter.redaction import redact, register_secret


@pytest.mark.parametrize(
    ("env", "service"),
    [
        ({}, "none"),
        ({"GITHUB_ACTIONS": "true"}, "github"),
        ({"TF_BUILD": "True"}, "azure-devops"),
        ({"TF_BUILD": "true"}, "azure-devops"),
        ({"GITHUB_ACTIONS": "false", "TF_BUILD": "False"}, "none"),
        ({"GITHUB_ACTIONS": "true", "PROMOTER_CI": "none"}, "none"),
        ({"PROMOTER_CI": "azure-devops"}, "azure-devops"),
    ],
)
def test_one_detection_rule(env: dict[str, str], service: str) -> None:
    assert detect_service(env) == service


def test_an_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of github, azure-devops, none"):
        detect_service({"PROMOTER_CI": "jenkins"})


def test_github_escaping() -> None:
    assert github.escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_azure_escaping() -> None:
    assert azure.escape_data("50%\r\nnext;]") == "50%AZP25%0D%0Anext;]"
    assert azure.escape_property("a;b]c%\n") == "a%3Bb%5Dc%AZP25%0A"


def test_output_delimiter_never_occurs_in_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = uuid.UUID(int=1), uuid.UUID(int=2)
    picks = iter([first, second])
    monkeypatch.setattr(github.uuid, "uuid4", lambda: next(picks))
    value = f"line one\nghadelimiter_{first.hex}\nline three"
    block = github.output_block("tags", value)
    assert block == f"tags<<ghadelimiter_{second.hex}\n{value}\nghadelimiter_{second.hex}\n"


def _run_document(images: int, failures: int) -> dict[str, object]:
    results = [
        {"rule": "non-root", "status": "fail", "message": f"runs as root {i}", "line": 20 + i,
         "file": "/w/pipeline.yml", "mode": "enforce", "platform": None}
        for i in range(failures)
    ]  # fmt: skip
    plan_images = [
        {
            "image": f"img{i}",
            "source": f"reg.example/staging/img{i}",
            "digest": "sha256:" + f"{i:064x}",
            "actions": [
                {"destination": f"prod.example/img{i}", "tag": "1.0", "action": "copy",
                 "reason": "missing", "line": 9},
            ],
        }
        for i in range(images)
    ]  # fmt: skip
    return {
        "ok": False,
        "exitCode": 1,
        "file": "/w/pipeline.yml",
        "context": {"ref": "refs/tags/v1.0", "sha": "a" * 40},
        "tags": [{"image": "img0", "staging": "reg.example/staging/img0", "tagNames": ["1.0"]}],
        "checks": {"img0": {"reference": "x", "digest": "y", "results": results}},
        "plan": {"file": "/w/pipeline.yml", "images": plan_images},
        "promotion": None,
        "notes": [],
        "seconds": 1.5,
    }


def test_annotations_are_limited_and_the_last_says_how_many_more() -> None:
    found = annotations_of(_run_document(1, 25), "run")
    assert len(found) == 25
    shown = limit_annotations(found)
    assert len(shown) == 10
    assert shown[-1].message.endswith("(and 15 more errors in the job summary)")
    assert all(a.line == 20 + i for i, a in enumerate(shown))


def test_annotations_put_configuration_errors_first() -> None:
    document = _run_document(1, 2)
    document["error"] = {"type": "ConfigError", "message": "x", "reason": "bad key",
                         "file": "/w/pipeline.yml", "line": 3, "column": 5, "path": "images"}  # fmt: skip
    found = annotations_of(document, "run")
    assert (found[0].title, found[0].line, found[0].column) == ("configuration error", 3, 5)
    assert found[0].message == "images: bad key"


def test_summary_stays_under_the_bound_and_says_what_was_cut() -> None:
    document = _run_document(3000, 3000)
    outputs = step_outputs(document, "run", 1, report="/tmp/report.json")
    found = annotations_of(document, "run")
    text = render_summary("run", document, "run", outputs, found, limit=64 * 1024)
    assert len(text.encode()) < 64 * 1024 + 512
    assert "**Summary cut:**" in text
    assert "`/tmp/report.json`" in text
    whole = render_summary("run", document, "run", outputs, found)
    assert len(whole.encode()) < 1024 * 1024


def test_outputs_of_a_run_document() -> None:
    document = _run_document(1, 0)
    outputs = step_outputs(document, "run", 0).as_github()
    assert outputs["result"] == "succeeded"
    assert outputs["digest"] == "sha256:" + "0" * 64
    assert json.loads(outputs["digests"]) == {"img0": "sha256:" + "0" * 64}
    assert outputs["tags"] == "reg.example/staging/img0:1.0"
    assert json.loads(outputs["promoted-refs"]) == {}  # nothing was promoted
    assert set(step_outputs(document, "run", 3).as_azure()) == {
        "result", "digest", "digests", "tags", "promotedRefs", "report", "plan"
    }  # fmt: skip


def test_task_result() -> None:
    warn = Annotation("warning", "policy x warns: web", "m", rank=3)
    note = Annotation("warning", "promoter", "shallow clone")
    assert azure.task_result(0, []) == "Succeeded"
    assert azure.task_result(0, [note]) == "Succeeded"
    assert azure.task_result(0, [warn]) == "SucceededWithIssues"
    assert azure.task_result(1, [warn]) == "Failed"


def test_a_secret_is_masked_when_read_and_redacted_in_every_form() -> None:
    stream = io.StringIO()
    adapter = github.GitHubAdapter({}, stream=stream)
    adapter.start()
    try:
        register_secret("s3cr3t-pass-word")
    finally:
        adapter.stop()
    lines = stream.getvalue().splitlines()
    # Secrets read earlier in this process are masked first (replayed), then this one.
    assert lines[-1] == "::add-mask::s3cr3t-pass-word"
    assert all(line.startswith("::add-mask::") for line in lines)


@pytest.mark.parametrize("service", ["github", "azure"])
def test_a_multi_line_secret_is_masked_line_by_line(service: str) -> None:
    pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBx9line2\nAoGCCqGSM49line3\n-----END EC PRIVATE KEY-----"
    stream = io.StringIO()
    adapter = (
        github.GitHubAdapter({}, stream=stream)
        if service == "github"
        else azure.AzureDevOpsAdapter({}, stream=stream)
    )
    adapter.mask(pem)
    masked = stream.getvalue().splitlines()
    prefix = "::add-mask::" if service == "github" else "##vso[task.setsecret]"
    for line in pem.splitlines():
        assert f"{prefix}{line}" in masked, masked
    assert all(line.startswith(prefix) for line in masked)


def test_a_credential_is_redacted_in_its_basic_header_form() -> None:
    from promoter.registry.access.credentials import Credential
    from promoter.registry.transport.auth import basic_header

    Credential("robot", "pa55-w0rd-for-basic", source="test")
    header = basic_header("robot", "pa55-w0rd-for-basic")
    assert redact(f"sent {header}; password pa55-w0rd-for-basic") == "sent Basic ***; password ***"


def test_adapter_base_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        CiAdapter({}).mask("x")


HOSTILE_CELL = (
    "<img src=x onerror=alert(1)> | [click](https://evil.example) `x` **b**\n::set-output"
)


def test_summary_shows_outside_text_as_text_in_intact_cells() -> None:
    # Labels and registry messages in the policy table, a tag and a git ref: HTML escaped,
    # Markdown markup shown as characters, pipes escaped, one line; every row keeps its cells.
    document = _run_document(1, 1)
    document["checks"]["img0"]["results"][0]["message"] = HOSTILE_CELL  # type: ignore[index]
    document["plan"]["images"][0]["actions"][0]["tag"] = "1.0|<b>x</b>"  # type: ignore[index]
    document["context"] = {"ref": "refs/heads/`<script>`", "sha": "a" * 40}
    outputs = step_outputs(document, "run", 1)
    text = render_summary("run", document, "run", outputs, annotations_of(document, "run"))
    assert "<img" not in text and "<b>" not in text
    # A code span shows its text as it is (no HTML in it); a backtick in it gets a longer fence.
    assert "`` refs/heads/`<script>` ``" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\\[click\\](https://evil.example)" in text  # no link: its brackets are escaped
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for row in rows:  # a table row's cells: its unescaped pipes, as many as its header's
        cells = len(re.findall(r"(?<!\\)\|", row))
        header = next(h for h in reversed(rows[: rows.index(row) + 1]) if "---" not in h
                      and not h.startswith("| img0") and not h.startswith("| error"))  # fmt: skip
        assert cells == len(re.findall(r"(?<!\\)\|", header)), row
    assert "\\*\\*b\\*\\*\\\\n::set-output" in text  # the LF shown, in its cell
