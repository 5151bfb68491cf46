"""SLSA provenance at build: a real kaniko stand-in build pushed to a real registry, its
attestation read back by skopeo, plain HTTP and the referrers lookup, and verified by
securesystemslib."""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from promoter.config import load_pipeline
from promoter.pipeline.builds import BuildSettings, SilentBuildLog, build_images
from promoter.registry.access.options import RegistryOptions
from promoter.registry.remote.pool import Registries
from promoter.signing.keys import SigningKey, generate_key_pair, load_private_key, load_public_key
from promoter.signing.statement import LOCAL_BUILDER
from promoter.tagging.stage import pipeline_tags
from tests.build.test_cli_build import _promoter, make_checkout
from tests.support.env import clean_env
from tests.support.git import git
from tests.support.real_parts import skopeo_raw
from tests.support.registry import Registry

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.skopeo]

PREDICATE = "https://slsa.dev/provenance/v1"
DSSE = "application/vnd.dsse.envelope.v1+json"
SECRET_VALUE = "s3cr3t-npm-token-value"

GITHUB_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/hello",
    "GITHUB_WORKFLOW_REF": "acme/hello/.github/workflows/images.yml@refs/tags/v1.2.3",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_SHA": "",
    "GITHUB_REF": "refs/tags/v1.2.3",
    "GITHUB_EVENT_NAME": "push",
}


def _skopeo_raw(reference: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(skopeo_raw(reference))
    return document


def _blob(registry: Registry, repository: str, digest: str) -> bytes:
    response = httpx.get(f"{registry.url}/v2/{repository}/blobs/{digest}", timeout=30)
    response.raise_for_status()
    return response.content


def _attestations(registry: Registry, repository: str, digest: str) -> list[dict[str, Any]]:
    """The DSSE envelopes in cosign's ``sha256-<hex>.att`` manifest of ``digest`` (skopeo)."""
    tag = digest.replace(":", "-") + ".att"
    manifest = _skopeo_raw(f"{registry.host}/{repository}:{tag}")
    envelopes = []
    for layer in manifest["layers"]:
        assert layer["mediaType"] == DSSE
        assert layer["annotations"]["predicateType"] == PREDICATE
        envelopes.append(json.loads(_blob(registry, repository, layer["digest"])))
    return envelopes


def _statement(envelope: dict[str, Any]) -> dict[str, Any]:
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return statement


def _referrer_envelopes(registry: Registry, repository: str, digest: str) -> list[bytes]:
    """The provenance found through promoter's referrers lookup (API or tag schema)."""
    options = RegistryOptions.from_environment(insecure_registries=[registry.host])
    found = []
    with Registries(options) as registries:
        client = registries.client(registry.host)
        for descriptor in client.referrers(repository, digest):
            from promoter.oci.reference import Reference

            raw = client.get_manifest(Reference(registry.host, repository, None, descriptor.digest))
            manifest = json.loads(raw.raw)
            assert manifest["subject"]["digest"] == digest
            for layer in manifest["layers"]:
                if layer["mediaType"] == DSSE:
                    found.append(_blob(registry, repository, layer["digest"]))
    return found


def _key() -> tuple[SigningKey, bytes]:
    private_pem, public_pem = generate_key_pair("pw")
    return load_private_key(private_pem.decode(), "pw", source="cosign.key"), public_pem


def _build_in_process(
    checkout: Path, registry: Registry, env: dict[str, str], key: SigningKey | None
) -> dict[str, Any]:
    pipeline = load_pipeline(str(checkout / "pipeline.yml"))
    now = datetime.now(timezone.utc)
    tags = pipeline_tags(pipeline, env=env, now=now)
    options = RegistryOptions.from_environment(insecure_registries=[registry.host])
    settings = BuildSettings(
        options,
        SilentBuildLog(),
        insecure_registries=(registry.host,),
        env=env,
        signing_key=key,
    )
    report = build_images(pipeline, tags, now, settings)
    (image,) = report.to_dict()["images"]
    return dict(image)


def _recommit(checkout: Path) -> None:
    """Commit the checkout's changes and move v1.2.3 to the new commit."""
    git(checkout, "commit", "-qam", "c")
    git(checkout, "tag", "-f", "v1.2.3")


def _add_build_args(checkout: Path, lines: str) -> None:
    """Add ``lines`` to hello's build args in pipeline.yml (commit and tag come after)."""
    pipeline = (checkout / "pipeline.yml").read_text()
    minor = '        MINOR: "{{major}}.{{minor}}"\n'
    (checkout / "pipeline.yml").write_text(pipeline.replace(minor, minor + lines))


def _with_secret_arg(checkout: Path) -> None:
    _add_build_args(checkout, f"        NPM_TOKEN: {SECRET_VALUE}\n")
    _recommit(checkout)


def test_a_signed_build_carries_provenance_that_verifies(
    standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import SSlibKey

    checkout = make_checkout(tmp_path / "repo", standin_image, registry.host)
    _with_secret_arg(checkout)
    key, public_pem = _key()
    env = {**clean_env(), **GITHUB_ENV, "GITHUB_SHA": git(checkout, "rev-parse", "HEAD")}
    env["GITHUB_WORKSPACE"] = str(checkout)
    image = _build_in_process(checkout, registry, env, key)
    (build,) = image["builds"]
    digest = build["digest"]
    assert image["provenance"]["signed"] is True
    assert image["provenance"]["keyId"] == key.fingerprint
    assert image["provenance"]["subjects"] == [digest]

    (envelope,) = _attestations(registry, "hello", digest)
    public = load_public_key(public_pem, source="cosign.pub")
    independent = SSlibKey.from_crypto(public, keyid=key.fingerprint)
    accepted = Envelope.from_dict(copy.deepcopy(envelope)).verify([independent], 1)
    assert list(accepted) == [key.fingerprint]
    statement = _statement(envelope)
    assert statement["subject"] == [
        {"name": f"{registry.host}/hello", "digest": {"sha256": digest.split(":")[1]}}
    ]
    predicate = statement["predicate"]
    assert predicate["runDetails"]["builder"]["id"] == (
        "https://github.com/acme/hello/.github/workflows/images.yml@refs/tags/v1.2.3"
    )
    assert predicate["runDetails"]["metadata"]["invocationId"] == (
        "https://github.com/acme/hello/actions/runs/4242"
    )
    parameters = predicate["buildDefinition"]["externalParameters"]
    assert parameters["pipeline"]["path"] == "pipeline.yml"
    assert parameters["image"] == "hello"
    assert parameters["buildArgs"] == {"VERSION": "1.2.3", "MINOR": "1.2"}
    assert parameters["withheldBuildArgs"] == ["NPM_TOKEN"]
    dependencies = predicate["buildDefinition"]["resolvedDependencies"]
    source = next(d for d in dependencies if d.get("name") == "source")
    assert source["digest"] == {"gitCommit": git(checkout, "rev-parse", "HEAD")}
    assert SECRET_VALUE not in json.dumps(envelope)
    assert SECRET_VALUE not in base64.b64decode(envelope["payload"]).decode()

    # The referrer form holds the same envelope.
    assert [json.loads(b) for b in _referrer_envelopes(registry, "hello", digest)] == [envelope]

    # Tampered, or checked with another key: refused.
    forged = dict(statement, subject=[{"name": "x", "digest": {"sha256": "0" * 64}}])
    tampered = dict(envelope, payload=base64.b64encode(json.dumps(forged).encode()).decode())
    with pytest.raises(VerificationError):
        Envelope.from_dict(copy.deepcopy(tampered)).verify([independent], 1)
    _, other_pem = _key()
    stranger = SSlibKey.from_crypto(load_public_key(other_pem, source="o"), keyid="o")
    with pytest.raises(VerificationError):
        Envelope.from_dict(copy.deepcopy(envelope)).verify([stranger], 1)


def test_unsigned_provenance_on_azure_devops_names_the_pipeline_definition(
    standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, registry.host)
    (checkout / "pipeline.yml").write_text(
        (checkout / "pipeline.yml")
        .read_text()
        .replace("staging/hello", "staging/hello-azure")
        .replace(
            "      executor:\n", "      platforms: [linux/amd64, linux/arm64]\n      executor:\n"
        )
    )
    env = {
        **clean_env(),
        "TF_BUILD": "True",
        "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
        "SYSTEM_TEAMPROJECT": "Web Apps",
        "SYSTEM_DEFINITIONID": "17",
        "BUILD_BUILDID": "99",
        "BUILD_SOURCEVERSION": git(checkout, "rev-parse", "HEAD"),
        "BUILD_SOURCEBRANCH": "refs/tags/v1.2.3",
        "BUILD_REPOSITORY_URI": "https://dev.azure.com/acme/Web%20Apps/_git/hello",
        "BUILD_SOURCESDIRECTORY": str(checkout),
    }
    image = _build_in_process(checkout, registry, env, None)
    amd, arm = image["builds"]
    index = image["index"]["digest"]
    assert image["provenance"]["signed"] is False
    assert image["provenance"]["subjects"] == [amd["digest"], arm["digest"], index]
    for digest in (amd["digest"], arm["digest"], index):
        (envelope,) = _attestations(registry, "hello-azure", digest)
        assert envelope["signatures"] == []
        statement = _statement(envelope)
        assert [s["digest"]["sha256"] for s in statement["subject"]] == [
            d.split(":")[1] for d in (amd["digest"], arm["digest"], index)
        ]
        run = statement["predicate"]["runDetails"]
        assert (
            run["builder"]["id"] == "https://dev.azure.com/acme/Web%20Apps/_build?definitionId=17"
        )
        assert run["metadata"]["invocationId"] == (
            "https://dev.azure.com/acme/Web Apps/_build/results?buildId=99"
        )
        parameters = statement["predicate"]["buildDefinition"]["externalParameters"]
        assert parameters["platforms"] == ["linux/amd64", "linux/arm64"]


def _checkout_staging_to(
    tmp_path: Path, standin_image: str, registry: Registry, repository: str
) -> Path:
    """A checkout whose image hello is staged in ``repository`` of ``registry``."""
    checkout = make_checkout(tmp_path / "repo", standin_image, registry.host)
    pipeline = (checkout / "pipeline.yml").read_text()
    (checkout / "pipeline.yml").write_text(
        pipeline.replace("staging/hello", f"staging/{repository}")
    )
    return checkout


def test_cli_build_attaches_unsigned_provenance_locally(
    standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    checkout = _checkout_staging_to(tmp_path, standin_image, registry, "hello-local")
    done = _promoter(checkout, "build", "--output", "json")
    assert done.returncode == 0, done.stderr
    (image,) = json.loads(done.stdout)["images"]
    (build,) = image["builds"]
    assert image["provenance"]["builderId"] == LOCAL_BUILDER
    assert image["provenance"]["signed"] is False
    (envelope,) = _attestations(registry, "hello-local", build["digest"])
    statement = _statement(envelope)
    assert statement["predicate"]["runDetails"]["builder"]["id"] == LOCAL_BUILDER
    assert "invocationId" not in statement["predicate"]["runDetails"]["metadata"]
    parameters = statement["predicate"]["buildDefinition"]["externalParameters"]
    assert parameters["context"] == "app"
    assert parameters["dockerfile"] == "Dockerfile"


def _with_signing(checkout: Path, signing: str) -> None:
    pipeline = (checkout / "pipeline.yml").read_text()
    (checkout / "pipeline.yml").write_text(pipeline + f"signing:\n{signing}")


def test_cli_build_signs_provenance_with_the_pipelines_key(
    standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    checkout = _checkout_staging_to(tmp_path, standin_image, registry, "hello-signed")
    private_pem, public_pem = generate_key_pair("a-key-password")
    (checkout / "keys").mkdir()
    (checkout / "keys" / "cosign.key").write_bytes(private_pem)
    _with_signing(checkout, "  key_file: keys/cosign.key\n")
    done = _promoter(
        checkout, "build", "--output", "json", env={"COSIGN_PASSWORD": "a-key-password"}
    )
    assert done.returncode == 0, done.stderr
    (image,) = json.loads(done.stdout)["images"]
    (build,) = image["builds"]
    public = load_public_key(public_pem, source="cosign.pub")
    from promoter.signing.keys import fingerprint

    assert image["provenance"]["signed"] is True
    assert image["provenance"]["keyId"] == fingerprint(public)
    (envelope,) = _attestations(registry, "hello-signed", build["digest"])
    independent = SSlibKey.from_crypto(public, keyid=fingerprint(public))
    assert list(Envelope.from_dict(copy.deepcopy(envelope)).verify([independent], 1)) == [
        fingerprint(public)
    ]
    for text in (done.stdout, done.stderr):
        assert "a-key-password" not in text
        assert "PRIVATE KEY" not in text


def test_a_wrong_key_password_is_bad_input_before_any_build(
    standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, registry.host)
    private_pem, _ = generate_key_pair("right")
    _with_signing(checkout, "  key_env: PROMOTER_TEST_SIGNING_KEY\n")
    env = {"PROMOTER_TEST_SIGNING_KEY": private_pem.decode(), "COSIGN_PASSWORD": "not-the-password"}
    done = _promoter(checkout, "build", env=env)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: $PROMOTER_TEST_SIGNING_KEY: wrong password for the signing key"]
    assert "== build" not in done.stderr  # refused before kaniko ran
    assert "Traceback" not in done.stderr
    missing = _promoter(checkout, "build", env={"COSIGN_PASSWORD": "right"})
    assert missing.returncode == 2
    assert "the signing key variable PROMOTER_TEST_SIGNING_KEY is not set" in missing.stderr


def _with_environment_args(checkout: Path) -> None:
    """NPM_TOKEN from $TEST_NPM_TOKEN (a secret), PLAIN from $TEST_PLAIN (secret: false);
    the Dockerfile puts both in labels, so the image shows that kaniko got them."""
    _add_build_args(
        checkout,
        "        NPM_TOKEN: {env: TEST_NPM_TOKEN}\n        PLAIN: {env: TEST_PLAIN, secret: false}\n",
    )
    dockerfile = (checkout / "app" / "Dockerfile").read_text()
    (checkout / "app" / "Dockerfile").write_text(
        dockerfile.replace(
            "ARG MINOR\n",
            "ARG MINOR\nARG NPM_TOKEN\nARG PLAIN\n"
            "LABEL org.example.token=$NPM_TOKEN org.example.plain=$PLAIN\n",
        )
    )
    _recommit(checkout)


def test_a_build_argument_from_the_environment_reaches_kaniko_and_a_secret_one_nothing_else(
    standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    checkout = make_checkout(tmp_path / "repo", standin_image, registry.host)
    _with_environment_args(checkout)
    env = {"TEST_NPM_TOKEN": SECRET_VALUE, "TEST_PLAIN": "plain-value"}
    done = _promoter(checkout, "build", "--output", "json", env=env)
    assert done.returncode == 0, done.stderr
    (image,) = json.loads(done.stdout)["images"]
    (build,) = image["builds"]
    manifest = _skopeo_raw(f"{registry.host}/hello@{build['digest']}")
    config = json.loads(_blob(registry, "hello", manifest["config"]["digest"]))
    labels = config["config"]["Labels"]
    assert labels["org.example.token"] == SECRET_VALUE  # kaniko got the value ...
    assert labels["org.example.plain"] == "plain-value"
    assert SECRET_VALUE not in done.stdout + done.stderr  # ... and nobody else saw it
    (envelope,) = _attestations(registry, "hello", build["digest"])
    parameters = _statement(envelope)["predicate"]["buildDefinition"]["externalParameters"]
    assert parameters["buildArgs"] == {"VERSION": "1.2.3", "MINOR": "1.2", "PLAIN": "plain-value"}
    assert parameters["withheldBuildArgs"] == ["NPM_TOKEN"]
    assert SECRET_VALUE not in json.dumps(envelope)

    # An unset variable: exit 2 at its line, before anything is built.
    unset = _promoter(checkout, "build", env={"TEST_PLAIN": "plain-value"})
    assert unset.returncode == 2, unset.stderr
    errors = [line for line in unset.stderr.splitlines() if line.startswith("error: ")]
    line = next(
        n
        for n, text in enumerate((checkout / "pipeline.yml").read_text().splitlines(), 1)
        if "TEST_NPM_TOKEN" in text
    )
    assert errors == [
        f"error: pipeline.yml:{line}:21: images.hello.build.args.NPM_TOKEN.env: the variable"
        " TEST_NPM_TOKEN is not set (build argument NPM_TOKEN takes its value from it: set it"
        " in the job's environment, as a secret variable on CI)"
    ]
    assert "== build" not in unset.stderr


class _KeptBuildLog(SilentBuildLog):
    """The build's log lines as kaniko wrote them (before any redaction by the CLI)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)


def test_a_literal_secret_build_argument_warns_and_stays_out_of_the_log_and_records(
    standin_image: str, registry: Registry, tmp_path: Path
) -> None:
    """``NPM_TOKEN: <literal>`` in pipeline.yml: validate warns at its line (exit 0); the
    build gives kaniko the value through its environment (the image's label shows it got
    it), and neither kaniko's own log, nor promoter's output, nor the provenance has it."""
    checkout = make_checkout(tmp_path / "repo", standin_image, registry.host)
    _add_build_args(checkout, f"        NPM_TOKEN: {SECRET_VALUE}\n")
    dockerfile = (checkout / "app" / "Dockerfile").read_text()
    (checkout / "app" / "Dockerfile").write_text(
        dockerfile.replace(
            "ARG MINOR\n", "ARG MINOR\nARG NPM_TOKEN\nLABEL org.example.t=$NPM_TOKEN\n"
        )
    )
    _recommit(checkout)
    line = next(
        n
        for n, text in enumerate((checkout / "pipeline.yml").read_text().splitlines(), 1)
        if SECRET_VALUE in text
    )
    checked = _promoter(checkout, "validate")
    assert checked.returncode == 0, checked.stderr
    assert (
        f"pipeline.yml:{line}:9: images.hello.build.args.NPM_TOKEN: warning: a literal secret in"
        " the pipeline file; take it from the environment with {env: NPM_TOKEN}"
    ) in checked.stderr.splitlines()

    log = _KeptBuildLog()
    pipeline = load_pipeline(str(checkout / "pipeline.yml"))
    env = clean_env()
    now = datetime.now(timezone.utc)
    settings = BuildSettings(
        RegistryOptions.from_environment(insecure_registries=[registry.host]),
        log,
        insecure_registries=(registry.host,),
        env=env,
    )
    report = build_images(pipeline, pipeline_tags(pipeline, env=env, now=now), now, settings)
    ((build,),) = [image["builds"] for image in report.to_dict()["images"]]
    assert any("--build-arg=NPM_TOKEN" in text for text in log.lines), log.lines
    assert not any("--build-arg=NPM_TOKEN=" in text for text in log.lines)
    assert not any(SECRET_VALUE in text for text in log.lines)
    manifest = _skopeo_raw(f"{registry.host}/hello@{build['digest']}")
    config = json.loads(_blob(registry, "hello", manifest["config"]["digest"]))
    assert config["config"]["Labels"]["org.example.t"] == SECRET_VALUE  # kaniko got it
    (envelope,) = _attestations(registry, "hello", build["digest"])
    parameters = _statement(envelope)["predicate"]["buildDefinition"]["externalParameters"]
    assert parameters["withheldBuildArgs"] == ["NPM_TOKEN"]
    assert SECRET_VALUE not in json.dumps(envelope)
    assert SECRET_VALUE not in json.dumps(report.to_dict())

    done = _promoter(checkout, "build", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert SECRET_VALUE not in done.stdout + done.stderr
    assert f"pipeline.yml:{line}:9: images.hello.build.args.NPM_TOKEN: a literal" in done.stderr
