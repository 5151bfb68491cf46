"""Text promoter did not write steers nothing: a table of hostile inputs per channel.

Each channel carries a hostile text in each form a CI service obeys: after an
LF, after a CR, inline (``##vso[`` anywhere, GitHub's legacy ``##[name]``), and
``##[`` formatting. The CLI runs on both services in every output format the
command has, and its whole output is read back by the service's own rules
(``read_log_commands``: CR and LF line ends, ``::`` after leading spaces, the
legacy form anywhere, stop-commands fences; for Azure DevOps the first
``##vso[`` anywhere, ``##[`` formatting anywhere, CR and LF). No command may
carry the marker ``PWNED``: every hostile command names it in its name, its
properties, or at the start of its message. And the text is still shown: the
marker is in the output, and a JSON document still parses to the same value.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hostile_registry import HostileRegistry
from tests.support.images import push_http
from tests.support.oci_craft import make_image
from tests.support.registry import Registry
from tests.support.untrusted import FORMS, MARK, SERVICES, assert_steers_nothing

# -- the channels ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileRegistry]:
    with HostileRegistry() as registry:
        yield registry


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_registry_message(
    hostile: HostileRegistry, service: str, form: str, tmp_path: Path
) -> None:
    hostile.message = FORMS[form]
    ref = f"{hostile.host}/lie/command-message:v1"
    policy = tmp_path / "policy.yml"
    policy.write_text("policies:\n  - rule: non-root\n")
    for args in (
        ["inspect", ref],
        ["inspect", ref, "--output", "json"],
        ["check", ref, "--policy", str(policy), "--output", "markdown"],
        ["check", ref, "--policy", str(policy), "--output", "json"],
    ):
        output = assert_steers_nothing(service, args, tmp_path)
        error = next(line for line in output.splitlines() if line.startswith("error:"))
        assert "\\n" in error or "\\r" in error or form in ("inline", "format")


@pytest.fixture(scope="module")
def hostile_images(registry: Registry) -> dict[str, str]:
    """An image per form whose user, label values, a label name and an annotation are hostile."""
    refs = {}
    for form, text in FORMS.items():
        image = make_image(
            seed=f"hostile-{form}",
            user=text,
            labels={"org.example.team": text, f"{MARK}\n::set-output name={MARK}::1": "v"},
            annotations={"org.example.note": text},
        )
        push_http(image, registry.url, "untrusted/config", form)
        refs[form] = f"{registry.host}/untrusted/config:{form}"
    return refs


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("service", SERVICES)
def test_image_config_values_labels_and_annotations(
    hostile_images: dict[str, str], service: str, form: str, tmp_path: Path
) -> None:
    ref = hostile_images[form]
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "policies:\n  - rule: non-root\n  - rule: required-labels\n"
        "    labels: {org.example.team: 'web|ops'}\n"
    )
    for output in ("text", "json", "markdown", "sarif"):
        text = assert_steers_nothing(
            service, ["check", ref, "--policy", str(policy), "--output", output], tmp_path
        )
        assert "required-labels" in text
    assert_steers_nothing(service, ["inspect", ref, "--config"], tmp_path)
    assert_steers_nothing(service, ["inspect", ref, "--raw"], tmp_path)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_git_ref_from_the_service(service: str, form: str, tmp_path: Path) -> None:
    (tmp_path / "pipeline.yml").write_text(
        "version: 1\nregistries:\n  s: {host: 127.0.0.1:9}\nimages:\n  web:\n"
        "    build: {context: .}\n"
        "    tags: ['type=ref,event=branch', 'type=raw,value=x']\n    staging: s/web\n"
    )
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    ref = f"refs/heads/{FORMS[form]}"
    env = {"GITHUB_REF": ref} if service == "github" else {"BUILD_SOURCEBRANCH": ref}
    for output in ("text", "json"):
        assert_steers_nothing(service, ["tags", "--output", output], tmp_path, **env)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_file_name(service: str, form: str, tmp_path: Path) -> None:
    folder = tmp_path / FORMS[form].replace("/", "_")
    folder.mkdir()
    bad = folder / "pipeline.yml"
    bad.write_text("version: 1\nregistries: {}\nimages: {}\nunknown_key: 1\n")
    for file in (bad, folder / "missing.yml"):
        for output in ("text", "json"):
            text = assert_steers_nothing(
                service, ["validate", "-f", str(file), "--output", output], tmp_path
            )
            first = next(line for line in text.splitlines() if line.startswith("error:"))
            assert MARK in first  # the error is one line, the file name escaped in it
