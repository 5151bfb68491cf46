"""Credential findings and redaction: names and shapes, never the value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.policy.facts_doc import redact_facts
from promoter.policy.imagefacts import read_image_facts
from promoter.policy.rules.content import find_secrets
from promoter.policy.secrets import (
    redact_assignment,
    redact_text,
    scan_assignment,
    scan_text,
    secret_name_kind,
)
from tests.policy.factsdocs import facts_doc, platform_entry

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AZURE_KEY = "A" * 40 + "b" * 46 + "=="
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "db_password",
        "GITHUB_TOKEN",
        "NPM_TOKEN",
        "CLIENT_SECRET",
        "AWS_SECRET_ACCESS_KEY",
        "STRIPE_API_KEY",
        "AZURE_STORAGE_CONNECTION_STRING",
        "com.example.api-token",
        "SECRET",
    ],
)
def test_secret_names(name: str) -> None:
    assert secret_name_kind(name) == "secret-name"


@pytest.mark.parametrize(
    "name", ["PATH", "HOME", "DB_PASSWORD_FILE", "TOKEN_URL", "SECRETS_DIR", "TOKENIZER", "PASSAGE"]
)
def test_not_secret_names(name: str) -> None:
    assert secret_name_kind(name) is None


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (AWS_ID, "aws-access-key-id"),
        (f"id={AWS_ID};", "aws-access-key-id"),
        (
            "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc/+==;EndpointSuffix=core.windows.net",
            "azure-connection-string",
        ),
        (
            "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc=",
            "azure-connection-string",
        ),
        (AZURE_KEY, "azure-storage-key"),
        (PEM, "private-key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "private-key"),
        ("ghp_" + "a1" * 18, "github-token"),
        (
            "aws configure set aws_secret_access_key " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws-secret-access-key",
        ),
        ("git clone https://bob:t0ken@git.example.invalid/x.git", "url-credentials"),
        ("docker login --password hunter2 registry.example.invalid", "secret-flag"),
        ("curl -fsS -u admin:pa55word https://example.invalid/", "basic-auth"),
    ],
)
def test_value_shapes_are_found_and_redacted(value: str, kind: str) -> None:
    findings = scan_assignment("INNOCENT", value, "env")
    assert [f.kind for f in findings] == [kind]
    redacted = redact_text(value)
    assert f"<redacted:{kind}>" in redacted
    assert scan_assignment("INNOCENT", redacted, "env")[0].kind == kind


def test_empty_and_referenced_values_are_not_findings() -> None:
    assert scan_assignment("DB_PASSWORD", "", "env") == []
    assert scan_assignment("DB_PASSWORD", "$FROM_RUNTIME", "env") == []
    assert scan_text("ARG NPM_TOKEN\nRUN echo TOKEN=$NPM_TOKEN", "history[0]") == []


def test_history_findings_name_the_variable_never_the_value() -> None:
    text = "/bin/sh -c export DB_PASSWORD='s3cr3t value' GITHUB_TOKEN=abc && curl -u x"
    findings = scan_text(text, "history[2]")
    assert [(f.kind, f.key) for f in findings] == [
        ("secret-name", "DB_PASSWORD"),
        ("secret-name", "GITHUB_TOKEN"),
    ]
    for finding in findings:
        message = finding.describe()
        assert "s3cr3t" not in message and "abc" not in message
        assert message.startswith("history[2] ")
    redacted = redact_text(text)
    assert "s3cr3t" not in redacted and "=abc" not in redacted
    assert "curl -u x" in redacted


def test_redact_assignment_keeps_names_and_harmless_values() -> None:
    assert redact_assignment("PATH=/usr/bin:/bin") == "PATH=/usr/bin:/bin"
    assert redact_assignment("DB_PASSWORD=x") == "DB_PASSWORD=<redacted:secret-name>"
    assert redact_assignment(f"KEY_ID={AWS_ID}") == "KEY_ID=<redacted:aws-access-key-id>"
    assert redact_assignment("NOVALUE") == "NOVALUE"


def test_redacted_facts_still_fail_and_hold_no_value() -> None:
    leaked = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    platform = platform_entry(
        env=[f"AWS_SECRET_ACCESS_KEY={leaked}", "PATH=/bin"],
        labels={"deploy.token": leaked},
        history=[{"createdBy": f"RUN echo {AWS_ID} > /id", "emptyLayer": False}],
        cmd=["/app", f"--password={leaked}"],
    )
    facts = redact_facts(facts_doc(platform))
    assert leaked not in str(facts) and AWS_ID not in str(facts)
    found = {(f.where, f.key, f.kind) for f in find_secrets(read_image_facts(facts).platforms[0])}
    assert found == {
        ("env", "AWS_SECRET_ACCESS_KEY", "secret-name"),
        ("label", "deploy.token", "secret-name"),
        ("history[0]", None, "aws-access-key-id"),
        ("cmd", "password", "secret-name"),
    }


@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        min_size=8,
        max_size=60,
    )
)
def test_any_value_of_a_secret_name_is_redacted(value: str) -> None:
    import re

    name, _, redacted = redact_assignment(f"SERVICE_PASSWORD={value}").partition("=")
    assert name == "SERVICE_PASSWORD"
    # what is left beside the markers never holds the value (a marker's own text may)
    assert value not in re.sub(r"<redacted:[a-z0-9-]+>", "", redacted)
    assert scan_assignment("SERVICE_PASSWORD", redacted, "env")


@given(
    st.from_regex(r"(AKIA|ASIA)[0-9A-Z]{16}", fullmatch=True), st.text(alphabet=" ;&|", max_size=3)
)
def test_aws_ids_are_redacted_anywhere_in_text(key_id: str, sep: str) -> None:
    text = f"echo start{sep} {key_id}{sep} end"
    assert key_id not in redact_text(text)


def test_loading_an_unredacted_facts_file_redacts_it(tmp_path) -> None:
    import json

    from promoter.policy.facts_doc import load_facts

    leaked = "ghp_" + "Z9" * 18
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts_doc(platform_entry(labels={"ci.token": leaked}))))
    facts = load_facts(path)
    assert leaked not in json.dumps(facts)
    assert facts["platforms"][0]["labels"]["ci.token"] == "<redacted:github-token>"


@pytest.mark.parametrize(
    "text",
    [
        "docker login --password-stdin",
        "mysql --password $DB_PASSWORD",
        "useradd -u 1000 app",
        "curl https://example.invalid:8443/path",
        "echo --token",
    ],
)
def test_harmless_commands_are_left_alone(text: str) -> None:
    assert scan_text(text, "history[0]") == []
    assert redact_text(text) == text


def test_only_the_secret_part_of_a_command_is_redacted() -> None:
    redacted = redact_text("git clone https://bob:t0ken@git.example.invalid/x.git /src")
    assert (
        redacted
        == "git clone https://bob:<redacted:url-credentials>@git.example.invalid/x.git /src"
    )
    assert redact_text(redacted) == redacted
