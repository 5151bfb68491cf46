"""Every key of every JSON document promoter writes is camelCase.

The documents come from the real commands (a project over real registries, a
git checkout): the run report of ``plan``, ``apply`` and ``run``, the plan
file, the promotion record, ``tags``, ``check`` and its facts file,
``inspect``, ``copy`` (one and ``--batch``), ``index create`` and
``validate`` (its summary and its error document), plus the build report the
build stage returns (kaniko and the push are stood in for).

Keys an outside format defines, or that are the user's data, are not ours:
the image config ``inspect --config`` shows, OCI labels and annotations,
a platform's ``os.version`` and ``os.features``, exposed ports, the hosts of a plan's registry table and the image names of a
run's checks. Everything under those keys is still walked, except the image
config, which is the image's own document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.promote.conftest import make_project
from tests.promote.project import Project, promoter_cli, record_document

__all__ = ["make_project"]

CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
#: Maps whose keys are data (label names, hosts, image names, ports): values are still walked.
DATA_KEYED = frozenset({"labels", "annotations", "registries", "checks", "exposedPorts"})
#: Field names the OCI image spec gives a platform (a descriptor's ``platform``).
OCI_FIELDS = frozenset({"os.version", "os.features"})


def bad_keys(
    document: Any, path: str = "$", *, outside: frozenset[str] = frozenset()
) -> Iterator[str]:
    """The path of every key that is not camelCase; ``outside`` keys are skipped whole."""
    if isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}"
            if key in outside:
                continue
            if not CAMEL.match(str(key)) and key not in OCI_FIELDS:
                yield where
            if key in DATA_KEYED and isinstance(value, dict):
                for inner_key, inner in value.items():
                    yield from bad_keys(inner, f"{where}[{inner_key!r}]", outside=outside)
            else:
                yield from bad_keys(value, where, outside=outside)
    elif isinstance(document, list):
        for i, item in enumerate(document):
            yield from bad_keys(item, f"{path}[{i}]", outside=outside)


def assert_camel(name: str, document: Any, *, outside: frozenset[str] = frozenset()) -> None:
    found = list(bad_keys(document, outside=outside))
    assert not found, f"{name}: keys not in camelCase: {found}"


def test_the_walker_sees_nested_snake_case() -> None:
    document = {
        "okKey": {"labels": {"org.example.a_b": {"inner_key": 1}}},
        "list": [{"snake_case": 1}],
        "config": {"Env": []},
    }
    assert list(bad_keys(document, outside=frozenset({"config"}))) == [
        "$.okKey.labels['org.example.a_b'].inner_key",
        "$.list[0].snake_case",
    ]


def _json(result: Any, name: str) -> Any:
    assert result.stdout.strip(), f"{name} printed nothing: {result.stderr}"
    return json.loads(result.stdout)


def test_documents_of_the_registry_commands(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    project = make_project()
    image = project.seed(referrers=True)
    staging, prod = project.staging.host, project.prod_a.host
    insecure = ["--insecure-registry", staging, "--insecure-registry", prod]
    documents: dict[str, Any] = {}

    tags = promoter_cli("tags", "-f", str(project.file), "--output", "json")
    documents["tags"] = _json(tags, "tags")
    assert documents["tags"]["images"]

    plan_file = tmp_path / "plan.json"
    plan = promoter_cli(
        "plan", "-f", str(project.file), "--out", str(plan_file), "--output", "json"
    )
    documents["plan report"] = _json(plan, "plan")
    documents["plan file"] = json.loads(plan_file.read_text())

    facts_file = tmp_path / "facts.json"
    check = promoter_cli(
        "check",
        f"{staging}/web:1.2.3",
        "-f",
        str(project.file),
        "--facts-out",
        str(facts_file),
        "--output",
        "json",
        *insecure,
    )
    documents["check"] = _json(check, "check")
    documents["facts file"] = json.loads(facts_file.read_text())

    apply = promoter_cli("apply", str(plan_file), "--output", "json", cwd=project.root)
    documents["apply report"] = _json(apply, "apply")
    run = promoter_cli(
        "run", "--stage", "check,promote", "-f", str(project.file), "--output", "json"
    )
    documents["run report"] = _json(run, "run")

    destination = documents["apply report"]["promotion"]["images"][0]["destinations"][0]
    registry = destination["destination"].split("/", 1)[0]
    documents["promotion record"] = record_document(f"http://{registry}", destination["record"])

    inspect = promoter_cli("inspect", f"{staging}/web:1.2.3", "--output", "json", *insecure)
    documents["inspect"] = _json(inspect, "inspect")
    with_config = promoter_cli(
        "inspect", f"{staging}/web@{image.digest}", "--config", "--output", "json", *insecure
    )
    documents["inspect --config"] = _json(with_config, "inspect --config")

    copy = promoter_cli(
        "copy", f"{staging}/web:1.2.3", f"{prod}/copied:one", "--output", "json", *insecure
    )
    documents["copy"] = _json(copy, "copy")
    batch_file = tmp_path / "batch.txt"
    batch_file.write_text(f"{staging}/web:1.2.3 {prod}/copied:two\n")
    batch = promoter_cli("copy", "--batch", str(batch_file), "--output", "json", *insecure)
    documents["copy --batch"] = _json(batch, "copy --batch")
    index = promoter_cli(
        "index",
        "create",
        f"{prod}/joined:one",
        f"{staging}/web@{image.digest}",
        "--output",
        "json",
        *insecure,
    )
    documents["index create"] = _json(index, "index create")

    problems = {
        name: list(bad_keys(document, outside=frozenset({"config"} if "config" in name else ())))
        for name, document in documents.items()
    }
    found = {name: keys for name, keys in problems.items() if keys}
    assert not found, f"keys not in camelCase: {json.dumps(found, indent=1)}"


def test_documents_of_validate(tmp_path: Path) -> None:
    good = tmp_path / "pipeline.yml"
    good.write_text(
        "version: 1\nregistries:\n  staging:\n    host: 127.0.0.1:5000\n"
        "images:\n  web:\n    build:\n      context: .\n    staging: staging/web\n"
    )
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    valid = promoter_cli("validate", "-f", str(good), "--output", "json")
    assert valid.returncode == 0, valid.stderr
    assert_camel("validate", _json(valid, "validate"))
    broken = tmp_path / "broken.yml"
    broken.write_text("version: 1\nimages: 3\n")
    result = promoter_cli("validate", "-f", str(broken), "--output", "json")
    assert result.returncode == 2
    assert_camel("validate error", _json(result, "validate error"))


def test_registry_settings_of_a_plan_file(tmp_path: Path) -> None:
    """The registry table a plan file keeps (every auth kind), read back by ``apply``."""
    from promoter.config import load_pipeline
    from promoter.promote.plan import PromotionPlan
    from promoter.registry.access.options import configs_from_settings

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "ca.pem").write_text("")
    (tmp_path / "docker.json").write_text("{}")
    file = tmp_path / "pipeline.yml"
    file.write_text(
        "version: 1\nregistries:\n"
        "  a:\n    host: a.example\n    ca_file: ca.pem\n"
        "    auth: {kind: basic, username_env: A_USER, password_env: A_PASS}\n"
        "  b:\n    host: b.example\n    auth: {kind: token, token_env: B_TOKEN}\n"
        "  c:\n    host: c.example\n    auth: {kind: azure, tenant: t, client_id: c}\n"
        "  d:\n    host: d.example\n    auth: {kind: docker-config, config: docker.json}\n"
        "images:\n  web:\n    build:\n      context: .\n    staging: a/web\n"
    )
    hosts = load_pipeline(str(file)).registry_settings()
    document = PromotionPlan(str(file), "now", registries=hosts).to_dict()
    assert_camel("plan file", document)
    snake = re.compile(r"(?<=[a-z])([A-Z])")
    older = {  # as the previous version wrote the table: snake_case settings
        **document,
        "registries": {
            host: {snake.sub(lambda m: "_" + m.group(1).lower(), k): v for k, v in values.items()}
            for host, values in document["registries"].items()
        },
    }
    assert older["registries"]["a.example"]["username_env"] == "A_USER"
    for plan in (document, older):
        read = {c.host: c for c in configs_from_settings(PromotionPlan.from_dict(plan).registries)}
        a, b, c, d = (read[f"{x}.example"] for x in "abcd")
        assert (a.username_env, a.password_env, a.ca_file) == (
            "A_USER",
            "A_PASS",
            str(tmp_path / "ca.pem"),
        )
        assert b.token_env == "B_TOKEN"
        assert (c.tenant, c.client_id) == ("t", "c")
        assert d.docker_config == str(tmp_path / "docker.json")


def test_build_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build stage's report (kaniko and the registry stood in for) and a failed build."""
    from promoter.build import stage
    from promoter.build.failure import KanikoFailed
    from promoter.build.result import BuildResult
    from promoter.config import load_pipeline

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    file = tmp_path / "pipeline.yml"
    file.write_text(
        "version: 1\nregistries:\n  staging:\n    host: 127.0.0.1:5000\n"
        "images:\n  web:\n    build:\n      context: app\n"
        "      platforms: [linux/amd64, linux/arm64]\n    staging: staging/web\n"
    )
    pipeline = load_pipeline(str(file))
    digest = "sha256:" + "a" * 64

    def fake_build(spec: Any, *, output_dir: Path, **_: Any) -> BuildResult:
        return BuildResult(spec.name, digest, spec.platform, None, output_dir, "docker", 1.0)

    def push(spec: Any, result: BuildResult) -> stage.PushedImage:
        return stage.PushedImage(f"127.0.0.1:5000/staging/web@{digest}", digest, ("1.0",))

    def stitch(repository: str, sources: Any, tags: Any) -> stage.PushedImage:
        return stage.PushedImage(f"{repository}@{digest}", digest, tuple(tags))

    monkeypatch.setattr(stage, "build_image", fake_build)
    metadata = {"web": stage.ImageMetadata(version="1.0", tag_names=("1.0",))}
    report = stage.build_stage(
        pipeline,
        list(pipeline.images.values()),
        metadata,
        output_root=tmp_path / "out",
        log=_Log(),
        push=push,
        stitch=stitch,
    ).to_dict()
    assert report["images"][0]["index"]
    assert_camel("build report", report)
    failed = KanikoFailed("build failed", exit_code=1, last_lines=["x"], dockerfile_line=3)
    assert_camel("build error", failed.to_dict())


class _Log:
    def begin(self, title: str) -> None:
        pass

    def line(self, text: str) -> None:
        pass

    def end(self) -> None:
        pass
