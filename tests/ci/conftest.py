"""Fixtures for the CI adapter tests: the promotion project over real registries."""

from __future__ import annotations

from tests.promote.conftest import make_project

__all__ = ["make_project"]
