"""Policy rules as declared in a YAML file, each with the line it is declared on.

``promoter check`` takes its rules from a pipeline file (``-f pipeline.yml``)
or a policy file (``--policy FILE``); both hold a ``policies:`` list of
mappings with a ``rule`` key, an optional ``mode`` (``enforce``, the default,
or ``warn``) and the rule's own options. The line numbers come from the YAML
node tree, so every result and SARIF location points at the declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from promoter.config.inputfile import read_input_text
from promoter.config.source import Document, parse_document
from promoter.errors import ConfigError
from promoter.structs import field, struct

__all__ = ["MODES", "PolicyRule", "load_policy_file", "parse_policies"]

#: How a failing rule is treated: ``enforce`` refuses (exit 1), ``warn`` reports.
MODES = ("enforce", "warn")


@struct(frozen=True)
class PolicyRule:
    """One declared rule: its name, mode, options, and where it is declared."""

    rule: str
    mode: str = "enforce"
    options: Mapping[str, object] = field(default_factory=dict)
    file: str | None = None
    line: int | None = None
    index: int = 0

    @property
    def path(self) -> str:
        """The key path of the declaration, ``policies[2]``."""
        return f"policies[{self.index}]"

    def error(
        self, message: str, *, key: str | None = None, hint: str | None = None
    ) -> ConfigError:
        """A ``ConfigError`` located at this declaration (and one of its keys)."""
        path = f"{self.path}.{key}" if key else self.path
        return ConfigError(message, file=self.file, line=self.line, path=path, hint=hint)


def parse_policies(text: str, file: str) -> list[PolicyRule]:
    """The ``policies:`` list of a YAML document, each rule with its line.

    The document is read by promoter's one YAML loader
    (:func:`promoter.config.source.parse_document`): duplicate keys, tags,
    aliases and out-of-range numbers are refused at their line and column.
    """
    document = parse_document(file, text, what="policy file")
    data = document.data
    if "policies" not in data:
        raise ConfigError(
            "no 'policies:' list",
            file=file,
            line=1,
            column=1,
            hint="add a 'policies:' list of rules to check",
        )
    items = data["policies"]
    if items is None:
        return []
    if not isinstance(items, list):
        mark = document.mark(("policies",))
        raise ConfigError(
            "must be a list of rules",
            file=file,
            line=mark.line,
            column=mark.column,
            path="policies",
        )
    return [_declared_rule(document, file, index, item) for index, item in enumerate(items)]


def _declared_rule(document: Document, file: str, index: int, item: object) -> PolicyRule:
    """The rule at ``policies[index]``; refused unless a mapping with a name and a known mode."""
    mark = document.mark(("policies", index))
    where = f"policies[{index}]"
    if not isinstance(item, dict):
        raise ConfigError(
            "a rule must be a mapping with a 'rule' key",
            file=file,
            line=mark.line,
            column=mark.column,
            path=where,
        )
    name = item.get("rule")
    if not isinstance(name, str) or not name:
        raise ConfigError(
            "missing 'rule' (the rule's name)",
            file=file,
            line=mark.line,
            column=mark.column,
            path=where,
        )
    mode = item.get("mode", "enforce")
    if mode not in MODES:
        at = document.mark(("policies", index, "mode"))
        raise ConfigError(
            f"mode must be 'enforce' or 'warn', not {mode!r}",
            file=file,
            line=at.line,
            column=at.column,
            path=f"{where}.mode",
        )
    options = {k: v for k, v in item.items() if k not in ("rule", "mode")}
    return PolicyRule(name, mode, options, file, mark.line, index)


def load_policy_file(path: str | Path) -> list[PolicyRule]:
    """Read a policy or pipeline file and return its declared rules."""
    file = str(path)
    return parse_policies(read_input_text(file, what="policy file"), file)
