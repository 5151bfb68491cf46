"""The provenance statement of a build: facts in, an in-toto Statement v1 out (no I/O)."""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime, timezone

import pytest
import rfc3986
from rfc3986 import validators

from promoter.signing.dsse import sign_envelope, unsigned_envelope
from promoter.signing.keys import generate_key_pair, load_private_key, load_public_key
from promoter.signing.provenance import (
    NOTE_ANNOTATION,
    UNRESOLVED_ANNOTATION,
    BaseImage,
    BuildFacts,
    ExecutorImage,
    SourceFacts,
    builder_id,
    image_uri,
    provenance_statement_for,
    secret_build_args,
)
from promoter.signing.statement import LOCAL_BUILDER, statement_bytes

INDEX = "sha256:" + "1" * 64
AMD64 = "sha256:" + "2" * 64
ARM64 = "sha256:" + "3" * 64
BASE = "sha256:" + "4" * 64
BASE_AMD64 = "sha256:" + "5" * 64
EXECUTOR = "sha256:" + "6" * 64
COMMIT = "c" * 40


def _facts(**changes: object) -> BuildFacts:
    facts: dict[str, object] = {
        "image": "web",
        "subjects": [
            ("127.0.0.1:5000/staging/web", AMD64),
            ("127.0.0.1:5000/staging/web", ARM64),
            ("127.0.0.1:5000/staging/web", INDEX),
        ],
        "pipeline_path": "pipeline.yml",
        "pipeline_digest": "sha256:" + "a" * 64,
        "context": "app",
        "dockerfile": "Dockerfile",
        "target": "runtime",
        "platforms": ["linux/amd64", "linux/arm64"],
        "build_args": {"VERSION": "1.2.3", "NPM_TOKEN": "tok-123", "PLAIN": "x"},
        "source": SourceFacts("https://github.com/acme/web", COMMIT, "refs/tags/v1.2.3"),
        "bases": [
            BaseImage("127.0.0.1:5000/base:1", BASE, "linux/amd64", BASE_AMD64),
            BaseImage("127.0.0.1:1/gone:2", None, "linux/amd64", problem="connection refused"),
        ],
        "executor": ExecutorImage("gcr.io/kaniko-project/executor:v1.23.2-debug", EXECUTOR),
        "builder_id": "https://github.com/acme/web/.github/workflows/ci.yml@refs/tags/v1.2.3",
        "builder_version": {"promoter": "9.9.9"},
        "invocation_id": "https://github.com/acme/web/actions/runs/42",
        "started": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "finished": datetime(2026, 1, 2, 3, 5, 6, tzinfo=timezone.utc),
    }
    facts.update(changes)
    return BuildFacts(**facts)  # type: ignore[arg-type]


def test_the_statement_names_every_digest_and_the_build() -> None:
    statement = provenance_statement_for(_facts())
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert [s["digest"] for s in statement["subject"]] == [
        {"sha256": "2" * 64},
        {"sha256": "3" * 64},
        {"sha256": "1" * 64},
    ]
    assert {s["name"] for s in statement["subject"]} == {"127.0.0.1:5000/staging/web"}
    definition = statement["predicate"]["buildDefinition"]
    assert definition["buildType"].startswith("https://")
    parameters = definition["externalParameters"]
    assert parameters["pipeline"] == {"path": "pipeline.yml", "digest": {"sha256": "a" * 64}}
    assert parameters["image"] == "web"
    assert parameters["dockerfile"] == "Dockerfile"
    assert parameters["target"] == "runtime"
    assert parameters["platforms"] == ["linux/amd64", "linux/arm64"]
    assert parameters["source"] == "git+https://github.com/acme/web@refs/tags/v1.2.3"
    run = statement["predicate"]["runDetails"]
    assert run["builder"] == {
        "id": "https://github.com/acme/web/.github/workflows/ci.yml@refs/tags/v1.2.3",
        "version": {"promoter": "9.9.9"},
    }
    assert run["metadata"] == {
        "invocationId": "https://github.com/acme/web/actions/runs/42",
        "startedOn": "2026-01-02T03:04:05Z",
        "finishedOn": "2026-01-02T03:05:06Z",
    }


def test_dependencies_are_the_commit_the_bases_by_digest_and_the_executor() -> None:
    dependencies = provenance_statement_for(_facts())["predicate"]["buildDefinition"][
        "resolvedDependencies"
    ]
    source, base, gone, executor = dependencies
    assert source == {
        "uri": "git+https://github.com/acme/web@refs/tags/v1.2.3",
        "digest": {"gitCommit": COMMIT},
        "name": "source",
    }
    assert base["uri"] == "pkg:docker/127.0.0.1:5000/base@1?platform=linux%2Famd64"
    assert base["digest"] == {"sha256": "4" * 64}
    assert base["annotations"]["manifestDigest"] == BASE_AMD64
    assert base["annotations"]["reference"] == "127.0.0.1:5000/base:1"
    assert UNRESOLVED_ANNOTATION not in base["annotations"]
    # A base that could not be resolved is named, with why, and no digest.
    assert "digest" not in gone
    assert gone["annotations"][UNRESOLVED_ANNOTATION] == "connection refused"
    assert executor == {
        "uri": "pkg:docker/gcr.io/kaniko-project/executor@v1.23.2-debug",
        "digest": {"sha256": "6" * 64},
        "name": "kaniko-executor",
    }


def test_secret_build_args_are_withheld_by_value() -> None:
    statement = provenance_statement_for(_facts(secret_args={"PLAIN"}))
    parameters = statement["predicate"]["buildDefinition"]["externalParameters"]
    assert parameters["buildArgs"] == {"VERSION": "1.2.3"}
    assert parameters["withheldBuildArgs"] == ["NPM_TOKEN", "PLAIN"]
    text = statement_bytes(statement).decode()
    assert "tok-123" not in text
    assert '"x"' not in text


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("NPM_TOKEN", True),
        ("token", True),
        ("DB_PASSWORD", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("API_KEY", True),
        ("GITHUB_AUTH", True),
        ("VERSION", False),
        ("KEYBOARD", False),
        ("MONKEY", False),
        ("TOKENIZER_MODE", False),
    ],
)
def test_secret_names_read_like_credentials(name: str, secret: bool) -> None:
    assert (name in secret_build_args({name: "v"})) is secret


def test_a_value_holding_a_registered_secret_is_secret() -> None:
    args = {"URL": "https://user:hunter22@example.invalid/", "OTHER": "plain"}
    assert secret_build_args(args, secrets=["hunter22"]) == {"URL"}
    assert secret_build_args(args, marked=["OTHER", "MISSING"]) == {"OTHER"}


def test_builder_id_from_github_azure_devops_or_local() -> None:
    github = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/web",
        "GITHUB_WORKFLOW_REF": "acme/web/.github/workflows/images.yml@refs/heads/main",
    }
    assert builder_id("github", github) == (
        "https://github.com/acme/web/.github/workflows/images.yml@refs/heads/main"
    )
    relative = dict(github, GITHUB_WORKFLOW_REF=".github/workflows/images.yml@refs/heads/main")
    assert builder_id("github", relative) == builder_id("github", github)
    azure = {
        "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
        "SYSTEM_TEAMPROJECT": "Web Apps",
        "SYSTEM_DEFINITIONID": "17",
    }
    assert builder_id("azure-devops", azure) == (
        "https://dev.azure.com/acme/Web%20Apps/_build?definitionId=17"
    )
    assert builder_id("none", github) == LOCAL_BUILDER
    assert builder_id("azure-devops", {}) == LOCAL_BUILDER


def _assert_absolute_uri(value: str) -> None:
    """RFC 3986 by an outside parser: a scheme, a host, and every part well formed."""
    validators.Validator().require_presence_of("scheme", "host").check_validity_of(
        "scheme", "userinfo", "host", "port", "path", "query", "fragment"
    ).validate(rfc3986.uri_reference(value))


@pytest.mark.parametrize(
    ("service", "env"),
    [
        ("none", {}),
        ("github", {}),
        ("github", {"GITHUB_REPOSITORY": "acme/web"}),
        ("github", {"GITHUB_WORKFLOW_REF": "acme/web/.github/workflows/a b.yml@refs/heads/x#1"}),
        ("github", {"GITHUB_SERVER_URL": "not a url", "GITHUB_REPOSITORY": "acme/web"}),
        ("azure-devops", {}),
        ("azure-devops", {"SYSTEM_TEAMPROJECT": "P", "SYSTEM_DEFINITIONID": "1"}),
        (
            "azure-devops",
            {"SYSTEM_COLLECTIONURI": "acme", "SYSTEM_TEAMPROJECT": "P", "SYSTEM_DEFINITIONID": "1"},
        ),
        (
            "azure-devops",
            {
                "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
                "SYSTEM_TEAMPROJECT": "Web Apps",
                "SYSTEM_DEFINITIONID": "17",
            },
        ),
    ],
)
def test_builder_id_is_an_absolute_uri_on_and_off_ci(service: str, env: dict[str, str]) -> None:
    """SLSA Provenance v1 types builder.id as a TypeURI: a URI with a scheme in every case."""
    found = builder_id(service, env)
    _assert_absolute_uri(found)
    assert rfc3986.uri_reference(found).scheme == "https"


def test_the_statement_of_a_local_build_names_the_local_builder_uri() -> None:
    statement = provenance_statement_for(_facts(builder_id=builder_id("none", {})))
    builder = statement["predicate"]["runDetails"]["builder"]
    assert builder["id"] == LOCAL_BUILDER == "https://promoter.dev/builder/local"
    _assert_absolute_uri(builder["id"])


def test_image_uris() -> None:
    assert image_uri("127.0.0.1:5000/a/b:1.0") == "pkg:docker/127.0.0.1:5000/a/b@1.0"
    assert image_uri("h.io/b@" + BASE) == "pkg:docker/h.io/b@sha256%3A" + "4" * 64
    assert image_uri("h.io/b:t@" + BASE) == "pkg:docker/h.io/b@sha256%3A" + "4" * 64
    assert image_uri("h.io/b", "linux/arm64/v8") == "pkg:docker/h.io/b?platform=linux%2Farm64%2Fv8"


def test_the_signed_statement_verifies_with_securesystemslib() -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import SSlibKey

    private_pem, public_pem = generate_key_pair("pw")
    key = load_private_key(private_pem.decode(), "pw", source="k")
    envelope = sign_envelope(statement_bytes(provenance_statement_for(_facts())), key).to_json()
    public = load_public_key(public_pem, source="pub")
    independent = SSlibKey.from_crypto(public, keyid=key.fingerprint)
    assert list(Envelope.from_dict(copy.deepcopy(envelope)).verify([independent], 1)) == [
        key.fingerprint
    ]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["subject"][-1]["digest"] == {"sha256": "1" * 64}
    forged = dict(statement, subject=[{"name": "x", "digest": {"sha256": "f" * 64}}])
    tampered = dict(envelope, payload=base64.b64encode(statement_bytes(forged)).decode())
    with pytest.raises(VerificationError):
        Envelope.from_dict(copy.deepcopy(tampered)).verify([independent], 1)
    _, other_pem = generate_key_pair("pw2")
    other = SSlibKey.from_crypto(load_public_key(other_pem, source="o"), keyid="other")
    with pytest.raises(VerificationError):
        Envelope.from_dict(copy.deepcopy(envelope)).verify([other], 1)
    with pytest.raises(VerificationError):
        Envelope.from_dict(unsigned_envelope(statement_bytes(statement)).to_json()).verify(
            [independent], 1
        )


def test_a_checkout_without_a_remote_and_a_base_index_without_the_platform() -> None:
    facts = _facts(
        source=SourceFacts("", COMMIT),
        bases=[BaseImage("h.io/b:1", BASE, "linux/s390x", problem="its index has no s390x")],
        executor=ExecutorImage("/kaniko/executor", None, kind="binary"),
    )
    statement = provenance_statement_for(facts)
    definition = statement["predicate"]["buildDefinition"]
    assert "source" not in definition["externalParameters"]
    source, base, executor = definition["resolvedDependencies"]
    assert source == {"digest": {"gitCommit": COMMIT}, "name": "source"}
    assert base["digest"] == {"sha256": "4" * 64}
    assert base["annotations"][NOTE_ANNOTATION] == "its index has no s390x"
    assert executor["uri"] == "/kaniko/executor"
    assert executor["annotations"] == {UNRESOLVED_ANNOTATION: "digest not known"}
