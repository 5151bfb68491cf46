"""promoter: build, tag, check and promote container images between OCI registries."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
