"""The run report: every stage's outcome, as one JSON document or as text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promoter.structs import field, struct

if TYPE_CHECKING:
    from promoter.build.report import BuildReport
    from promoter.policy.results import CheckReport
    from promoter.promote import PromotionPlan, PromotionReport

__all__ = ["RunReport"]


@struct
class RunReport:
    """What ``promoter run``, ``plan`` and ``apply`` did, stage by stage."""

    file: str
    dry_run: bool = False
    stages: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, object]] = field(default_factory=list)
    build: BuildReport | None = None
    notes: list[str] = field(default_factory=list)
    checks: dict[str, CheckReport] = field(default_factory=dict)
    plan: PromotionPlan | None = None
    promotion: PromotionReport | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 done; 1 refused (policy, conflict); 3 a promotion failed.

        A dry run exits 1 when its plan holds a conflict or a blocked image: the
        run it previews would be refused, and a pull-request check should say so.
        """
        if self.promotion is not None:
            if self.promotion.failed:
                return 3
            if self.promotion.refused:
                return 1
            return 0
        if self.dry_run:
            refused = self.plan is not None and (
                self.plan.count("conflict") or self.plan.count("blocked")
            )
            return 1 if refused else 0
        if any(not report.ok for report in self.checks.values()):
            return 1
        return 0

    def problem(self) -> str | None:
        """One line saying why the exit code is not 0 (None when it is)."""
        if self.exit_code == 0:
            return None
        if self.promotion is not None:
            bad = self.promotion.failed or self.promotion.refused
            first = bad[0]
            more = f" (and {len(bad) - 1} more image(s))" if len(bad) > 1 else ""
            return f"{first.image}: {first.status}: {first.message}{more}"
        if self.dry_run and self.plan is not None:
            conflicts, blocked = self.plan.count("conflict"), self.plan.count("blocked")
            return (
                f"the run would be refused: {conflicts} tag conflict(s), "
                f"{blocked} tag(s) blocked by policy"
            )
        failed = [name for name, report in self.checks.items() if not report.ok]
        return f"policy checks failed for {', '.join(failed)}"

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``--output json``."""
        return {
            "ok": self.exit_code == 0,
            "exitCode": self.exit_code,
            "file": self.file,
            "dryRun": self.dry_run,
            "stages": list(self.stages),
            "context": dict(self.context),
            "tags": list(self.tags),
            "build": self.build.to_dict() if self.build is not None else None,
            "checks": {name: report.to_dict() for name, report in self.checks.items()},
            "plan": self.plan.to_dict() if self.plan else None,
            "promotion": self.promotion.to_dict() if self.promotion else None,
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
        }
