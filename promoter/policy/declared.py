"""Policy rules as declared in a YAML file, each with the line it is declared on.

``promoter check`` takes its rules from a pipeline file (``-f pipeline.yml``)
or a policy file (``--policy FILE``); both hold a ``policies:`` list of
mappings with a ``rule`` key, an optional ``mode`` (``enforce``, the default,
or ``warn``) and the rule's own options. The line numbers come from the YAML
node tree, so every result and SARIF location points at the declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promoter.errors import ConfigError, InputError

__all__ = ["MODES", "PolicyRule", "load_policy_file", "parse_policies"]

#: How a failing rule is treated: ``enforce`` refuses (exit 1), ``warn`` reports.
MODES = ("enforce", "warn")


@dataclass(frozen=True)
class PolicyRule:
    """One declared rule: its name, mode, options, and where it is declared."""

    rule: str
    mode: str = "enforce"
    options: Mapping[str, Any] = field(default_factory=dict)
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


def _node_lines(text: str, file: str) -> list[int | None]:
    """1-based line of each item of the top-level ``policies`` sequence."""
    import yaml

    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:  # pragma: no cover - safe_load reports it first
        raise ConfigError(f"not valid YAML: {error}", file=file) from None
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if (
            isinstance(key, yaml.ScalarNode)
            and key.value == "policies"
            and isinstance(value, yaml.SequenceNode)
        ):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def parse_policies(text: str, file: str) -> list[PolicyRule]:
    """The ``policies:`` list of a YAML document, each rule with its line."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"not valid YAML: {problem}", file=file, line=line) from None
    if not isinstance(document, dict) or "policies" not in document:
        raise ConfigError(
            "no 'policies:' list", file=file, hint="add a 'policies:' list of rules to check"
        )
    items = document["policies"]
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError("must be a list of rules", file=file, path="policies")
    lines = _node_lines(text, file)
    rules: list[PolicyRule] = []
    for index, item in enumerate(items):
        line = lines[index] if index < len(lines) else None
        where = f"policies[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(
                "a rule must be a mapping with a 'rule' key", file=file, line=line, path=where
            )
        name = item.get("rule")
        if not isinstance(name, str) or not name:
            raise ConfigError("missing 'rule' (the rule's name)", file=file, line=line, path=where)
        mode = item.get("mode", "enforce")
        if mode not in MODES:
            raise ConfigError(
                f"mode must be 'enforce' or 'warn', not {mode!r}",
                file=file,
                line=line,
                path=f"{where}.mode",
            )
        options = {k: v for k, v in item.items() if k not in ("rule", "mode")}
        rules.append(PolicyRule(name, mode, options, file, line, index))
    return rules


def load_policy_file(path: str | Path) -> list[PolicyRule]:
    """Read a policy or pipeline file and return its declared rules."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{file}: cannot read: {error}") from None
    return parse_policies(text, file)
