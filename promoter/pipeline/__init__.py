"""Orchestration: the stages of ``promoter run`` in order, ``plan`` and ``apply``, the report."""

from __future__ import annotations

from promoter.pipeline.report import RunReport
from promoter.pipeline.run import apply_plan_file, run_pipeline
from promoter.pipeline.settings import STAGES, RunRequest, parse_stages

__all__ = ["STAGES", "RunReport", "RunRequest", "apply_plan_file", "parse_stages", "run_pipeline"]
