"""kaniko's command line, the credentials a build needs, and the private Docker config."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from promoter.build import BuildSpec, CacheSettings, RegistryCredential
from promoter.build.arguments import ExecutorPaths, kaniko_arguments
from promoter.build.credentials import (
    DOCKER_HUB_CONFIG_KEY,
    private_docker_config,
    registry_host,
    required_registries,
)
from promoter.build.spec import DEFAULT_EXECUTOR_IMAGE

PATHS = ExecutorPaths("/workspace", "/workspace/app/Dockerfile", "/output")


def test_default_arguments_write_a_tarball() -> None:
    spec = BuildSpec(context=Path("."), destinations=("reg.example:5000/staging/web:abc",))
    assert kaniko_arguments(spec, PATHS) == [
        "--dockerfile=/workspace/app/Dockerfile",
        "--context=dir:///workspace",
        "--reproducible",
        "--digest-file=/output/digest",
        "--no-push",
        "--tar-path=/output/image.tar",
        "--destination=reg.example:5000/staging/web:abc",
    ]


def test_a_secret_build_argument_is_named_on_the_command_line_never_valued() -> None:
    spec = BuildSpec(
        context=Path("."),
        build_args={"VERSION": "1.2.3"},
        secret_build_args={"NPM_TOKEN": "npm_s3cr3t"},
    )
    arguments = kaniko_arguments(spec, PATHS)
    assert [a for a in arguments if a.startswith("--build-arg")] == [
        "--build-arg=VERSION=1.2.3",
        "--build-arg=NPM_TOKEN",  # kaniko reads the value from its environment
    ]
    assert "npm_s3cr3t" not in " ".join(arguments) + repr(spec)


def test_every_option_maps_to_its_flag() -> None:
    spec = BuildSpec(
        context=Path("."),
        destinations=("127.0.0.1:5000/staging/web:1", "127.0.0.1:5000/staging/web:latest"),
        target="runtime",
        build_args={"VERSION": "1.2.3", "EMPTY": ""},
        labels={"org.opencontainers.image.revision": "abc"},
        platform="linux/arm64",
        reproducible=False,
        cache=CacheSettings(repo="127.0.0.1:5000/cache", ttl="48h"),
        insecure_registries=("127.0.0.1:5000",),
        push="kaniko",
    )
    args = kaniko_arguments(spec, PATHS)
    assert "--target=runtime" in args
    assert "--build-arg=VERSION=1.2.3" in args and "--build-arg=EMPTY=" in args
    assert "--label=org.opencontainers.image.revision=abc" in args
    assert "--custom-platform=linux/arm64" in args
    assert "--reproducible" not in args
    assert args[args.index("--cache=true") + 1 :][:2] == [
        "--cache-repo=127.0.0.1:5000/cache",
        "--cache-ttl=48h",
    ]
    assert "--insecure-registry=127.0.0.1:5000" in args
    assert "--skip-tls-verify-registry=127.0.0.1:5000" in args
    # kaniko pushes itself: no tarball, every destination, insecure push to the local registry.
    assert "--no-push" not in args and not any(a.startswith("--tar-path") for a in args)
    assert args[-2:] == [
        "--destination=127.0.0.1:5000/staging/web:1",
        "--destination=127.0.0.1:5000/staging/web:latest",
    ]
    assert "--insecure" in args and "--skip-tls-verify" in args


def test_spec_is_frozen_and_default_executor_is_pinned() -> None:
    args = {"A": "1"}
    spec = BuildSpec(context=Path("."), build_args=args)
    args["A"] = "2"
    assert spec.build_args["A"] == "1"
    with pytest.raises(TypeError):
        spec.build_args["A"] = "3"  # type: ignore[index]
    assert (
        "@sha256:" in DEFAULT_EXECUTOR_IMAGE
        and len(DEFAULT_EXECUTOR_IMAGE.split("@sha256:")[1]) == 64
    )
    assert spec.executor.image == DEFAULT_EXECUTOR_IMAGE


@pytest.mark.parametrize(
    ("reference", "host"),
    [
        ("alpine", "docker.io"),
        ("library/alpine:3", "docker.io"),
        ("ghcr.io/org/app:1", "ghcr.io"),
        ("localhost/app", "localhost"),
        ("127.0.0.1:5000/app@sha256:" + "a" * 64, "127.0.0.1:5000"),
        ("myacr.azurecr.io/base/python:3.12", "myacr.azurecr.io"),
    ],
)
def test_registry_host(reference: str, host: str) -> None:
    assert registry_host(reference) == host


def test_required_registries_are_base_images_cache_and_kaniko_push_only() -> None:
    dockerfile = (
        "ARG BASE=base.example/os:1\n"
        "FROM $BASE AS build\n"
        "FROM --platform=linux/amd64 ghcr.io/org/tools:2 AS tools\n"
        "FROM build\n"
        "FROM scratch\n"
        "COPY --from=tools /x /x\n"
    )
    tarball = BuildSpec(
        context=Path("."),
        destinations=("staging.example/web:1",),
        cache=CacheSettings(repo="cache.example/web-cache"),
    )
    assert required_registries(tarball, dockerfile) == ["base.example", "ghcr.io", "cache.example"]
    pushing = BuildSpec(
        context=Path("."),
        destinations=("staging.example/web:1",),
        build_args={"BASE": "other.example/os:2"},
        push="kaniko",
    )
    assert required_registries(pushing, dockerfile) == [
        "other.example",
        "ghcr.io",
        "staging.example",
    ]


def test_private_docker_config_is_private_exact_and_removed(tmp_path: Path) -> None:
    credentials = [
        RegistryCredential("127.0.0.1:5000", username="user", password="pw"),
        RegistryCredential("docker.io", identity_token="refresh-token"),
    ]
    with private_docker_config(credentials, tmp_path) as directory:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        config = directory / "config.json"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        auths = json.loads(config.read_text())["auths"]
        assert auths == {
            "127.0.0.1:5000": {"auth": "dXNlcjpwdw=="},  # base64("user:pw")
            DOCKER_HUB_CONFIG_KEY: {"identitytoken": "refresh-token"},
        }
    assert not directory.exists()
    assert "pw" not in repr(credentials[0]) and "refresh-token" not in repr(credentials[1])


def test_private_docker_config_removed_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), private_docker_config([], tmp_path) as directory:
        raise RuntimeError("boom")
    assert not directory.exists()
    assert list(tmp_path.iterdir()) == []


def test_lookup_over_the_registry_credential_provider() -> None:
    from promoter.build.credentials import lookup_from_provider
    from promoter.registry.access.credentials import Credential, StaticCredentials

    provider = StaticCredentials(
        {
            "127.0.0.1:5000": Credential("user", "pw", source="test"),
            "ghcr.io": Credential(identity_token="tok", source="test"),
        }
    )
    lookup = lookup_from_provider(provider)
    assert lookup("127.0.0.1:5000") == RegistryCredential("127.0.0.1:5000", "user", "pw")
    assert lookup("ghcr.io") == RegistryCredential("ghcr.io", identity_token="tok")
    assert lookup("elsewhere.example") is None
