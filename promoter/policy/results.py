"""What a policy check yields: one ``RuleResult`` per rule (and platform), in a ``CheckReport``."""

from __future__ import annotations

from promoter.structs import field, struct

__all__ = ["STATUSES", "CheckReport", "RuleResult", "Verdict"]

#: ``pass``; ``fail`` (an enforced rule failed); ``warn`` (a rule in warn mode failed).
STATUSES = ("pass", "fail", "warn")


@struct(frozen=True)
class Verdict:
    """What a rule found on the facts: passed or not, for which platform, and why."""

    passed: bool
    message: str
    platform: str | None = None


@struct(frozen=True)
class RuleResult:
    """One result: the rule, its status, the platform, a message, and its declaration."""

    rule: str
    status: str
    message: str
    mode: str = "enforce"
    platform: str | None = None
    file: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON form of ``promoter check --output json``."""
        return {
            "rule": self.rule,
            "status": self.status,
            "mode": self.mode,
            "platform": self.platform,
            "message": self.message,
            "file": self.file,
            "line": self.line,
        }


@struct
class CheckReport:
    """Every result of one check, on one image digest."""

    reference: str
    digest: str
    results: list[RuleResult] = field(default_factory=list)
    facts_file: str | None = None

    def count(self, status: str) -> int:
        """How many results have ``status``."""
        return sum(1 for result in self.results if result.status == status)

    @property
    def ok(self) -> bool:
        """True when no enforced rule failed."""
        return self.count("fail") == 0

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``promoter check --output json``."""
        return {
            "ok": self.ok,
            "reference": self.reference,
            "digest": self.digest,
            "summary": {status: self.count(status) for status in STATUSES},
            "results": [result.to_dict() for result in self.results],
        }
