"""Composing YAML text into nodes, safely, with positions.

Events come from libyaml's C parser when PyYAML has it (fast, and iterative
however deep the input), else from PyYAML's pure-Python parser. Nodes are
composed by PyYAML's Python composer under a guard that refuses aliases
(no "billion laughs") and bounds nesting depth and node count. Every YAML
problem becomes one ``ConfigError`` with the line and column YAML reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import Node, ScalarNode
from yaml.resolver import Resolver

from promoter.config.problems import Mark, format_path
from promoter.errors import ConfigError

__all__ = ["BYTES_PER_NODE", "MAX_DEPTH", "MAX_NODES", "compose", "node_budget"]

#: A file may hold this many YAML nodes whatever its size ...
MAX_NODES = 20_000
#: ... and one node per this many bytes beyond. Aliases are refused, so a file's nodes are
#: bounded by its length; a generated pipeline of thousands of images runs at about 9 bytes
#: per node, while the densest YAML (``[0,0,0,...]``) is 2. At 6 the largest input file
#: (4 MiB) composes to at most ~700,000 nodes, about 220 MiB, where 2 bytes per node would
#: be 2 million nodes and 620 MiB.
BYTES_PER_NODE = 6
MAX_DEPTH = 64


def node_budget(text: str) -> int:
    """How many YAML nodes ``text`` may compose to."""
    return max(MAX_NODES, len(text) // BYTES_PER_NODE)


class _Refused(Exception):
    def __init__(self, message: str, event: yaml.Event, path: list[str | int]) -> None:
        super().__init__(message)
        self.message = message
        shown = path if len(path) <= 8 else path[:6]
        self.path = format_path(shown) + ("..." if len(path) > 8 else "")
        self.mark = Mark.of(event.start_mark) if event.start_mark else Mark(1, 1)


class _Guard(Composer):
    """Composer hooks: no aliases, no explicit tags, bounded depth and node count.

    A node written with an explicit tag (``!!python/...``, ``!!str``, ``!x``)
    gets ``explicit_tag``; the walker refuses it at its key path.
    """

    _depth = 0
    _nodes = 0
    _budget = MAX_NODES
    peek_event: Callable[[], yaml.Event]  # provided by the parser half of the loader

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        if not hasattr(self, "_path"):
            self._path: list[str | int] = []
        segment: str | int | None = None
        if isinstance(index, int) and not isinstance(index, bool):
            segment = index
        elif isinstance(index, ScalarNode):
            segment = str(index.value)
        if segment is not None:
            self._path.append(segment)
        try:
            return self._guarded(parent, index)
        finally:
            if segment is not None:
                self._path.pop()

    def _guarded(self, parent: Node | None, index: object) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _Refused("YAML aliases (*name) are not supported", event, self._path)
        self._nodes += 1
        if self._nodes > self._budget:
            raise _Refused(
                f"more than {self._budget} YAML nodes (a file may hold {MAX_NODES}, or one"
                f" per {BYTES_PER_NODE} bytes; write lists one item per line, or split the file)",
                event,
                self._path,
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", event, self._path)
        tag = getattr(event, "tag", None)
        try:
            node: Node | None = super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1
        if node is not None and tag not in (None, "!"):
            node.explicit_tag = tag  # type: ignore[attr-defined]
        return node


class _PythonLoader(_Guard, yaml.SafeLoader):
    """PyYAML's pure-Python reader, scanner and parser under the guard."""


def _loader(text: str) -> Any:
    if yaml.__with_libyaml__:
        return _LibyamlLoader(text)
    return _PythonLoader(text)  # pragma: no cover - PyYAML without libyaml


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _LibyamlLoader(_Guard, CParser, Resolver):
        """libyaml's parser for events; the Python composer under the guard for nodes."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            Resolver.__init__(self)


def _position(text: str, index: int) -> Mark:
    line = text.count("\n", 0, index) + 1
    return Mark(line, index - (text.rfind("\n", 0, index) + 1) + 1)


def _compose_text(text: str) -> Node | None:
    loader = _loader(text)
    loader._budget = node_budget(text)
    try:
        node: Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def compose(file: str, text: str, *, what: str = "pipeline file") -> Node:
    """The single document of ``text`` as a node tree; ``ConfigError`` for any YAML problem."""
    try:
        node = _compose_text(text)
    except _Refused as refused:
        raise ConfigError(
            refused.message,
            file=file,
            line=refused.mark.line,
            column=refused.mark.column,
            path=refused.path or None,
        ) from None
    except yaml.reader.ReaderError as error:
        where = _position(text, error.position)
        character = error.character
        code = f"#x{character:04x}" if isinstance(character, int) else repr(character)
        raise ConfigError(
            f"YAML: unacceptable character {code}",
            file=file,
            line=where.line,
            column=where.column,
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Mark.of(mark) if mark is not None else Mark(1, 1)
        problem = error.problem or error.context or "invalid YAML"
        raise ConfigError(
            f"YAML: {problem}", file=file, line=where.line, column=where.column
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"YAML: {error}", file=file) from None
    except RecursionError:
        raise ConfigError("YAML nesting is too deep", file=file) from None
    if node is None:
        raise ConfigError(f"the {what} is empty", file=file, line=1, column=1)
    return node
