"""The pipeline model: pipeline.yml schema, loading, validation.

``load_pipeline(path)`` returns a validated, immutable ``Pipeline`` or raises
``ConfigError`` (``FILE:LINE:COL: key.path: message``). The loader and YAML
are imported on first use, so importing the model stays cheap.
"""

from __future__ import annotations

import os

from promoter.config.model import (
    BuildCache,
    BuildConfig,
    ConfigWarning,
    EnvBuildArg,
    Executor,
    Image,
    Pipeline,
    PolicyRuleConfig,
    PromoteRule,
    Registry,
    RegistryAuth,
    Repository,
    SigningConfig,
    When,
)

__all__ = [
    "BuildCache",
    "BuildConfig",
    "ConfigWarning",
    "EnvBuildArg",
    "Executor",
    "Image",
    "Pipeline",
    "PolicyRuleConfig",
    "PromoteRule",
    "Registry",
    "RegistryAuth",
    "Repository",
    "SigningConfig",
    "When",
    "load_pipeline",
    "schema_text",
]


def load_pipeline(file: str | os.PathLike[str]) -> Pipeline:
    """Load and validate a pipeline file (see ``promoter.config.loader``)."""
    # here, not at the top: yaml and the loader into model users (+30 modules, 15 ms)
    from promoter.config.loader import load_pipeline as load

    return load(file)


def schema_text() -> str:
    """The pipeline.yml JSON Schema as shipped in the package."""
    # here, not at the top: difflib, importlib.resources into model users (+25 modules, 17 ms)
    from promoter.config.schema import schema_text as text

    return text()
