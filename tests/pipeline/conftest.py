"""The pipeline tests use the promotion tests' project over three real registries."""

from __future__ import annotations

from tests.promote.conftest import make_project

__all__ = ["make_project"]
