"""Fixtures for the pipeline-file tests: a project folder to validate files in."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with app/Dockerfile (stages 'build' and 'runtime'); the cwd for the test."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM scratch AS build\nFROM scratch AS runtime\n")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "cosign.pub").write_text("-----BEGIN PUBLIC KEY-----\n")
    (tmp_path / "not-json.json").write_text("{nope")
    monkeypatch.chdir(tmp_path)
    return tmp_path
