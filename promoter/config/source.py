"""Reading pipeline.yml into plain data that remembers where every node came from.

The file is read defensively (a regular file, a size cap before parsing,
strict UTF-8), composed into nodes by ``yamlnodes`` (no aliases, bounded
depth and node count), and walked into dicts, lists and scalars. Every value and every
mapping key keeps its line and column, so later errors and annotations can
point at the exact place in the file. Duplicate mapping keys, which YAML
loaders silently accept, are reported.
"""

from __future__ import annotations

import math
import os
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.config.inputfile import MAX_FILE_BYTES, read_input_text
from promoter.config.problems import KeyPath, Mark, Problem, format_path, raise_problems
from promoter.config.yamlnodes import compose
from promoter.errors import ConfigError
from promoter.structs import field, struct

__all__ = ["MAX_FILE_BYTES", "MAX_INTEGER", "Document", "parse_document", "read_document"]

#: Integers beyond a signed 64-bit value are refused: no setting needs them,
#: and a 5,000-digit number is a mistake or an attack.
MAX_INTEGER = 2**63 - 1

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_TEXT_TAGS = {"tag:yaml.org,2002:timestamp"}


@struct(frozen=True)
class Document:
    """The parsed file: plain data plus the position of each value and key."""

    file: str
    data: Any
    values: dict[KeyPath, Mark] = field(default_factory=dict)
    keys: dict[KeyPath, Mark] = field(default_factory=dict)

    def mark(self, path: KeyPath) -> Mark:
        """Where the value at ``path`` starts (or its closest located ancestor)."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Mark(1, 1))

    def key_mark(self, path: KeyPath) -> Mark:
        """Where the key of ``path`` is written; the value's place if it has no key."""
        return self.keys.get(path) or self.mark(path)


class _Walker:
    """Turns composed nodes into plain data, recording marks and problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[KeyPath, Mark] = {}
        self.keys: dict[KeyPath, Mark] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def walk(self, node: Node, path: KeyPath) -> object:
        self.values[path] = Mark.of(node.start_mark)
        explicit = getattr(node, "explicit_tag", None)
        if explicit is not None:
            self._problem(
                Mark.of(node.start_mark),
                path,
                f"unsupported YAML tag '{explicit}' (explicit YAML tags are not accepted)",
            )
            return None
        if not isinstance(node, ScalarNode) and node.tag not in _COLLECTION_TAGS:
            self._problem(Mark.of(node.start_mark), path, f"unsupported YAML tag '{node.tag}'")
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.walk(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, object]:
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or hasattr(key_node, "explicit_tag"):
                self._problem(
                    Mark.of(key_node.start_mark), path, "mapping keys must be plain strings"
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            mark = Mark.of(key_node.start_mark)
            if key in out:
                first = self.keys[child]
                self._problem(
                    mark, child, f"duplicate key '{key}' (first defined at line {first.line})"
                )
                continue
            self.keys[child] = mark
            out[key] = self.walk(value_node, child)
        return out

    def _scalar(self, node: Node, path: KeyPath) -> object:
        if node.tag in _TEXT_TAGS:
            return str(node.value)
        if node.tag not in _SCALAR_TAGS:
            self._problem(Mark.of(node.start_mark), path, f"unsupported YAML tag '{node.tag}'")
            return None
        try:
            value = self._constructor.construct_object(node)
        except (ValueError, yaml.YAMLError):
            self._problem(
                Mark.of(node.start_mark),
                path,
                f"'{_shorten(node.value)}' is not a valid {node.tag.rsplit(':', 1)[-1]}",
            )
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and abs(value) > MAX_INTEGER:
            self._problem(Mark.of(node.start_mark), path, "integer out of range (64-bit at most)")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self._problem(
                Mark.of(node.start_mark), path, f"number '{_shorten(node.value)}' is not finite"
            )
            return None
        return value

    def _problem(self, mark: Mark, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(mark, format_path(path), message))


def _shorten(text: object) -> str:
    value = str(text)
    return value if len(value) <= 40 else value[:37] + "..."


def parse_document(file: str, text: str, *, what: str = "pipeline file") -> Document:
    """Compose and walk YAML ``text`` read from ``file``: one mapping, every value located.

    The one YAML loader of promoter (pipeline files, policy files, custom
    schemas): no aliases, no explicit tags, no duplicate keys, bounded depth,
    node count and numbers; every problem is a ``ConfigError`` at
    ``file:line:col: key.path: message``.
    """
    node = compose(file, text, what=what)
    walker = _Walker(file)
    data = walker.walk(node, ())
    raise_problems(file, walker.problems)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        mark = walker.values[()]
        keys = " (version, registries, images, ...)" if what == "pipeline file" else ""
        raise ConfigError(
            f"the {what} must be a mapping of keys{keys}, not {kind}",
            file=file,
            line=mark.line,
            column=mark.column,
        )
    return Document(file, data, walker.values, walker.keys)


def read_document(file: str | os.PathLike[str], *, what: str = "pipeline file") -> Document:
    """Read and compose a YAML input file; raise ``ConfigError`` for anything unreadable."""
    name = os.fspath(file)
    hint = "pass the pipeline file with -f" if what == "pipeline file" else None
    text = read_input_text(name, what=what, hint=hint)
    return parse_document(name, text, what=what)
