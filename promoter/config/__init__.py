"""The pipeline model: pipeline.yml schema, loading, validation."""

from __future__ import annotations
