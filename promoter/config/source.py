"""Reading pipeline.yml into plain data that remembers where every node came from.

The file is read defensively (a regular file, a size cap before parsing,
strict UTF-8), composed into nodes by ``yamlnodes`` (no aliases, bounded
depth and node count), and walked into dicts, lists and scalars. Every value and every
mapping key keeps its line and column, so later errors and annotations can
point at the exact place in the file. Duplicate mapping keys, which YAML
loaders silently accept, are reported.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.config.problems import KeyPath, Mark, Problem, format_path, raise_problems
from promoter.config.yamlnodes import compose
from promoter.errors import ConfigError

__all__ = ["MAX_FILE_BYTES", "Document", "read_document"]

#: Pipeline files are hand-written; anything larger is a mistake or an attack.
MAX_FILE_BYTES = 1024 * 1024

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_TEXT_TAGS = {"tag:yaml.org,2002:timestamp"}


@dataclass(frozen=True)
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


def _read_text(file: str) -> str:
    path = Path(file)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(
            "no such file", file=file, hint="pass the pipeline file with -f"
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", file=file) from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError("is a directory, not a pipeline file", file=file) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError("is not a regular file", file=file)
    if info.st_size > MAX_FILE_BYTES:
        raise ConfigError(
            f"file is {info.st_size} bytes; pipeline files are limited to {MAX_FILE_BYTES} bytes",
            file=file,
        )
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror or error}", file=file) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"file is larger than {MAX_FILE_BYTES} bytes", file=file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise ConfigError(
            f"not UTF-8 text (byte 0x{raw[error.start]:02x})", file=file, line=line, column=column
        ) from None
    return text


class _Walker:
    """Turns composed nodes into plain data, recording marks and problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[KeyPath, Mark] = {}
        self.keys: dict[KeyPath, Mark] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def walk(self, node: Node, path: KeyPath) -> Any:
        self.values[path] = Mark.of(node.start_mark)
        if not isinstance(node, ScalarNode) and node.tag not in _COLLECTION_TAGS:
            self._problem(Mark.of(node.start_mark), path, f"unsupported YAML tag '{node.tag}'")
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.walk(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
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

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        if node.tag in _TEXT_TAGS:
            return str(node.value)
        if node.tag not in _SCALAR_TAGS:
            self._problem(Mark.of(node.start_mark), path, f"unsupported YAML tag '{node.tag}'")
            return None
        try:
            return self._constructor.construct_object(node)
        except (ValueError, yaml.YAMLError):
            self._problem(
                Mark.of(node.start_mark),
                path,
                f"'{node.value}' is not a valid {node.tag.rsplit(':', 1)[-1]}",
            )
            return None

    def _problem(self, mark: Mark, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(mark, format_path(path), message))


def read_document(file: str | os.PathLike[str]) -> Document:
    """Read and compose a pipeline file; raise ``ConfigError`` for anything unreadable."""
    name = os.fspath(file)
    text = _read_text(name)
    node = compose(name, text)
    walker = _Walker(name)
    data = walker.walk(node, ())
    raise_problems(name, walker.problems)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        mark = walker.values[()]
        raise ConfigError(
            f"the pipeline file must be a mapping of keys (version, registries, images, ...), not {kind}",
            file=name,
            line=mark.line,
            column=mark.column,
        )
    return Document(name, data, walker.values, walker.keys)
