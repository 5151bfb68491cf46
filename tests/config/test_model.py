"""The loaded model: typed, immutable, and pointing back at pipeline.yml lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.config import EnvBuildArg, Pipeline, load_pipeline
from promoter.config.model import Repository, When
from promoter.structs import FrozenInstanceError, replace
from tests.config.cli_runner import ROOT

QUICKSTART = ROOT / "examples" / "quickstart" / "pipeline.yml"


def _lines_with(path: Path, needle: str) -> list[int]:
    return [n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line]


@pytest.fixture(scope="module")
def quickstart() -> Pipeline:
    return load_pipeline(QUICKSTART)


def test_registries(quickstart: Pipeline) -> None:
    assert list(quickstart.registries) == ["staging", "prod-a", "prod-b"]
    staging = quickstart.registries["staging"]
    assert staging.host == "127.0.0.1:5000"
    assert staging.insecure is True
    assert staging.auth.kind == "docker-config"
    assert staging.line == _lines_with(QUICKSTART, "  staging:")[0]
    assert staging.column == 3


def test_image_and_build(quickstart: Pipeline) -> None:
    image = quickstart.image("hello")
    build = image.build
    assert build.context == QUICKSTART.parent / "app"
    assert build.dockerfile == QUICKSTART.parent / "app" / "Dockerfile"
    assert build.dockerfile.is_file()
    assert build.platforms == ("linux/amd64",)
    assert dict(build.args) == {"VERSION": "{{version}}"}
    assert image.staging == Repository(
        "staging", "127.0.0.1:5000", "hello", line=image.staging.line, column=image.staging.column
    )
    assert image.staging.name == "127.0.0.1:5000/hello"
    assert str(image.staging) == "staging/hello"
    assert image.tags[0] == "type=ref,event=branch"
    assert image.flavor == ("latest=auto",)
    assert image.labels["org.opencontainers.image.title"] == "hello"


def test_promote_rules_carry_their_lines(quickstart: Pipeline) -> None:
    rules = quickstart.image("hello").promote
    assert [rule.line for rule in rules] == _lines_with(QUICKSTART, "- to: [")
    first, second = rules
    assert [target.name for target in first.to] == ["127.0.0.1:5001/hello", "127.0.0.1:5002/hello"]
    assert first.tags == ("{{version}}", "latest")
    assert first.when == When("tag")
    assert first.mutable == ("latest",)
    assert second.when == When("branch", "main")
    assert str(second.when) == "branch:main"


def test_policy_rules_carry_their_lines_and_options(quickstart: Pipeline) -> None:
    policies = quickstart.policies
    assert [rule.line for rule in policies] == _lines_with(QUICKSTART, "- rule:")
    assert [rule.index for rule in policies] == list(range(len(policies)))
    by_name = {rule.rule: rule for rule in policies}
    # Sizes and durations stay as written: the rule reads them by promoter.units,
    # the same way as in a --policy file.
    assert by_name["max-size"].options["max"] == "5MiB"
    assert by_name["max-age"].options["max"] == "30d"
    assert by_name["max-age"].mode == "warn" and not by_name["max-age"].enforced
    assert by_name["non-root"].enforced
    assert list(by_name["required-labels"].options["labels"]) == [
        "org.opencontainers.image.source",
        "org.opencontainers.image.revision",
    ]


def test_the_model_is_immutable(quickstart: Pipeline) -> None:
    image = quickstart.image("hello")
    with pytest.raises(FrozenInstanceError):
        image.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        quickstart.images["x"] = image  # type: ignore[index]
    with pytest.raises(TypeError):
        quickstart.policies[0].options["max"] = 1  # type: ignore[index]


def test_summary(quickstart: Pipeline) -> None:
    assert quickstart.summary() == {"images": 1, "registries": 3, "policies": 6, "promotions": 3}


def test_auth_kinds_and_paths() -> None:
    multi = load_pipeline(ROOT / "examples" / "multi-region" / "pipeline.yml")
    staging = multi.registries["staging"].auth
    assert (staging.kind, staging.username_env, staging.password_env) == (
        "basic",
        "STAGING_REGISTRY_USER",
        "STAGING_REGISTRY_PASSWORD",
    )
    assert multi.registries["eu-west"].auth.token_env == "EU_REGISTRY_TOKEN"
    build = multi.image("api").build
    assert build.push == "kaniko"
    assert build.cache is not None and build.cache.ttl == 168 * 3600
    assert build.cache.repo.name == "staging.registry.example.com/cache/api"
    acr = load_pipeline(ROOT / "examples" / "acr" / "pipeline.yml")
    production = acr.registries["production"].auth
    assert (production.kind, production.tenant) == ("azure", "00000000-0000-0000-0000-000000000000")
    signed = next(rule for rule in acr.policies if rule.rule == "signed")
    assert signed.options["key"] == ROOT / "examples" / "acr" / "keys" / "cosign.pub"
    assert acr.image("shop").build.executor.timeout == 1800
    own = load_pipeline(ROOT / "pipeline.yml")
    assert own.registries["release"].auth.token_env == "GITHUB_TOKEN"


def test_relative_paths_resolve_against_the_pipeline_file(project: Path) -> None:
    nested = project / "deploy"
    nested.mkdir()
    (nested / "pipeline.yml").write_text(
        "version: 1\nregistries: {s: {host: r.example}}\n"
        "images:\n  a: {build: {context: ../app, target: build}, staging: s/a}\n"
    )
    pipeline = load_pipeline("deploy/pipeline.yml")
    assert pipeline.file == nested / "pipeline.yml"
    assert pipeline.base_dir == nested
    assert pipeline.image("a").build.context == project / "app"
    assert pipeline.image("a").build.target == "build"


def test_build_arguments_from_the_environment(project: Path) -> None:
    (project / "pipeline.yml").write_text(
        "version: 1\nregistries: {s: {host: r.example}}\n"
        "images:\n  a:\n    build:\n      context: app\n      args:\n"
        '        V: "{{version}}"\n'
        "        TOKEN: {env: NPM_TOKEN}\n"
        "        MIRROR: {env: NPM_MIRROR, secret: false}\n"
        "    staging: s/a\n"
    )
    build = load_pipeline("pipeline.yml").image("a").build
    assert dict(build.args) == {"V": "{{version}}"}
    assert dict(build.env_args) == {
        "TOKEN": EnvBuildArg("NPM_TOKEN", secret=True, line=9, column=17),
        "MIRROR": EnvBuildArg("NPM_MIRROR", secret=False, line=10, column=18),
    }


def test_signing_and_sign(project: Path) -> None:
    nested = project / "deploy"
    nested.mkdir()
    (nested / "keys").mkdir()
    (nested / "keys" / "cosign.key").write_text("not read at load time")
    (nested / "other.key").write_text("not read either")
    (nested / "pipeline.yml").write_text(
        "version: 1\nregistries: {s: {host: r.example}}\n"
        "images:\n  a:\n    build: {context: ../app, target: build}\n    staging: s/a\n"
        "    promote:\n"
        "      - {to: [s/b], sign: true}\n"
        "      - {to: [s/c], sign: {key: other.key, password_env: OTHER_PASSWORD}}\n"
        "      - {to: [s/d], sign: {key_env: PEM_TEXT}}\n"
        "      - {to: [s/e], sign: false}\n"
        "      - {to: [s/f]}\n"
        "signing: {key_file: keys/cosign.key}\n"
    )
    pipeline = load_pipeline("deploy/pipeline.yml")
    signing = pipeline.signing
    assert signing is not None
    assert (signing.key_file, signing.key_env, signing.password_env) == (
        nested / "keys" / "cosign.key",
        None,
        "COSIGN_PASSWORD",
    )
    assert signing.line == 13
    signs = [rule.sign for rule in pipeline.image("a").promote]
    assert signs[0] == signing
    assert signs[1] is not None and signs[1].key_file == nested / "other.key"
    assert signs[1].password_env == "OTHER_PASSWORD"
    assert signs[2] is not None and (signs[2].key_file, signs[2].key_env) == (None, "PEM_TEXT")
    assert signs[3:] == [None, None]
    assert type(signing).from_settings(signing.settings()) == replace(signing, line=0, column=0)
