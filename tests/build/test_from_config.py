"""From a real pipeline.yml (loaded by promoter.config) to BuildSpecs."""

from __future__ import annotations

from pathlib import Path

from promoter.build.from_config import specs_from_image
from promoter.build.spec import DEFAULT_EXECUTOR_IMAGE
from promoter.build.stage import ImageMetadata, render_build_arg
from promoter.config import load_pipeline

PIPELINE = """\
version: 1
registries:
  staging:
    host: 127.0.0.1:5000
    insecure: true
  cache:
    host: cache.example.com
images:
  web:
    build:
      context: app
      dockerfile: Dockerfile
      target: runtime
      args:
        VERSION: "{{version}}"
        COMMIT: "{{sha}}"
      labels:
        org.example.built-from: "{{branch}}"
      platforms: [linux/amd64, linux/arm64/v8]
      executor:
        image: registry.example.com/kaniko/executor:v1.27.0-debug
        timeout: 10m
      cache:
        repo: cache/web-cache
        ttl: 2d
      reproducible: false
      push: kaniko
    tags:
      - type=semver,pattern={{version}}
    staging: staging/web
  api:
    build:
      context: app
    staging: staging/api
"""


def _pipeline(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch AS runtime\n")
    path = tmp_path / "pipeline.yml"
    path.write_text(PIPELINE)
    return path


def test_every_build_setting_maps_onto_the_spec(tmp_path: Path) -> None:
    pipeline = load_pipeline(_pipeline(tmp_path))
    meta = ImageMetadata(
        version="1.2.3",
        tag_names=("1.2.3",),
        labels={"org.opencontainers.image.version": "1.2.3"},
        variables={"sha": "0123abc", "branch": "main"},
    )
    specs = specs_from_image(
        pipeline,
        pipeline.image("web"),
        tags=meta.tag_names,
        labels=meta.labels,
        render=lambda value: render_build_arg(value, meta),
    )
    assert [s.platform for s in specs] == ["linux/amd64", "linux/arm64/v8"]
    amd, arm = specs
    assert amd.context == (tmp_path / "app").resolve()
    assert amd.dockerfile_path.resolve() == (tmp_path / "app" / "Dockerfile").resolve()
    assert amd.target == "runtime"
    assert dict(amd.build_args) == {"VERSION": "1.2.3", "COMMIT": "0123abc"}
    assert dict(amd.labels) == {
        "org.example.built-from": "main",
        "org.opencontainers.image.version": "1.2.3",
    }
    assert amd.executor.image == "registry.example.com/kaniko/executor:v1.27.0-debug"
    assert amd.executor.timeout == 600
    assert amd.cache is not None and amd.cache.repo == "cache.example.com/web-cache"
    assert amd.cache.ttl == "172800s"
    assert amd.reproducible is False
    assert amd.push == "kaniko"
    assert amd.insecure_registries == ("127.0.0.1:5000",)
    # Per-platform builds never share a tag.
    assert amd.destinations == ("127.0.0.1:5000/web:1.2.3-linux-amd64",)
    assert arm.destinations == ("127.0.0.1:5000/web:1.2.3-linux-arm64-v8",)
    assert arm.name == "web-linux-arm64-v8"


def test_defaults(tmp_path: Path) -> None:
    pipeline = load_pipeline(_pipeline(tmp_path))
    (spec,) = specs_from_image(
        pipeline, pipeline.image("api"), insecure_registries=["10.0.0.1:5000"]
    )
    assert spec.platform is None
    assert spec.executor.image == DEFAULT_EXECUTOR_IMAGE
    assert spec.reproducible is True
    assert spec.push == "promoter"
    assert spec.cache is None
    assert spec.destinations == ("127.0.0.1:5000/api:build",)
    assert spec.insecure_registries == ("127.0.0.1:5000", "10.0.0.1:5000")


def test_unknown_template_is_left_alone() -> None:
    meta = ImageMetadata(version="2.0.0")
    assert render_build_arg("v{{ version }}-{{ date 'YYYY' }}-{{nope}}", meta) == (
        "v2.0.0-{{ date 'YYYY' }}-{{nope}}"
    )
