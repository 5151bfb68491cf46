"""Fixtures for the promotion tests: a project over three real registries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.promote.project import Project
from tests.support.registry import Registry


@pytest.fixture
def make_project(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> Callable[..., Project]:
    """``make_project(**options)``: one staging and two production registries, a git tag."""

    def make(**options: Any) -> Project:
        staging, prod_a, prod_b = registry_factory(), registry_factory(), registry_factory()
        return Project(tmp_path / "project", staging, prod_a, prod_b, **options)

    return make
