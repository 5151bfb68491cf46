"""The facts of a build's provenance that come from the world: bases resolved in a real registry."""

from __future__ import annotations

import pytest

from promoter.build.dockerfile import base_images
from promoter.build.provenance_facts import resolve_base_images
from promoter.registry.access.options import RegistryOptions
from promoter.registry.remote.pool import Registries
from tests.support.images import make_image, make_platform_index, push_http
from tests.support.registry import Registry, free_port

pytestmark = pytest.mark.registry


def test_the_stages_after_the_target_are_not_bases() -> None:
    text = "FROM a.io/one AS build\nFROM build AS final\nFROM b.io/two AS later\n"
    assert base_images(text) == ["a.io/one", "b.io/two"]
    assert base_images(text, target="final") == ["a.io/one"]
    assert base_images(text, target="FINAL") == ["a.io/one"]


def test_bases_resolve_by_digest_and_an_unreachable_one_is_named(registry: Registry) -> None:
    index = make_platform_index(seed="prov-base")
    push_http(index, registry.url, "bases/multi", "1")
    single = make_image(seed="prov-single")
    push_http(single, registry.url, "bases/single", "2")
    nowhere = f"127.0.0.1:{free_port()}"
    dockerfile = (
        "ARG BASE_TAG=0\n"
        f"FROM {registry.host}/bases/multi:1 AS deps\n"
        "FROM deps AS build\n"
        f"FROM {registry.host}/bases/single:${{BASE_TAG}}\n"
        "FROM scratch\n"
        f"FROM {nowhere}/bases/gone:3\n"
        f"FROM {registry.host}/bases/multi:1\n"
    )
    options = RegistryOptions.from_environment(
        insecure_registries=[registry.host, nowhere], exchange_deadline=5
    )
    with Registries(options) as registries:
        found = resolve_base_images(
            dockerfile,
            {"BASE_TAG": "2"},
            target=None,
            platform="linux/arm64/v8",
            registries=registries,
        )
    multi, one, gone = found  # stage names, scratch and repeats skipped
    assert multi.reference == f"{registry.host}/bases/multi:1"
    assert multi.digest == index.digest
    assert multi.manifest_digest == index.children[1].digest  # the arm64 manifest
    assert multi.problem is None
    assert one.reference == f"{registry.host}/bases/single:2"  # the build argument substituted
    assert one.digest == one.manifest_digest == single.digest
    assert gone.digest is None
    assert gone.problem and nowhere in gone.problem


def test_a_base_index_without_the_platform_keeps_its_digest_and_says_so(
    registry: Registry,
) -> None:
    index = make_platform_index(seed="prov-platforms")
    push_http(index, registry.url, "bases/two", "1")
    options = RegistryOptions.from_environment(insecure_registries=[registry.host])
    with Registries(options) as registries:
        (base,) = resolve_base_images(
            f"FROM {registry.host}/bases/two:1\n",
            {},
            target=None,
            platform="linux/s390x",
            registries=registries,
        )
    assert base.digest == index.digest
    assert base.manifest_digest is None
    assert base.problem == "its index has no linux/s390x manifest"
