"""Orchestration: the stages of ``promoter run`` in order, ``plan`` and ``apply``, the report.

The functions that run stages load the registry client (httpx) on first use,
so that a command module can name ``STAGES`` while ``promoter --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from promoter.pipeline.report import RunReport
from promoter.pipeline.settings import STAGES, RunRequest, parse_stages

if TYPE_CHECKING:
    from promoter.pipeline.rollback import RollbackRequest, rollback_tag
    from promoter.pipeline.run import apply_plan_file, run_pipeline
    from promoter.pipeline.shards import apply_shard_file

__all__ = [
    "STAGES",
    "RollbackRequest",
    "RunReport",
    "RunRequest",
    "apply_plan_file",
    "apply_shard_file",
    "parse_stages",
    "rollback_tag",
    "run_pipeline",
]

#: Names loaded on first use, and the module each comes from.
_LAZY = {
    "apply_plan_file": "promoter.pipeline.run",
    "run_pipeline": "promoter.pipeline.run",
    "apply_shard_file": "promoter.pipeline.shards",
    "RollbackRequest": "promoter.pipeline.rollback",
    "rollback_tag": "promoter.pipeline.rollback",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
