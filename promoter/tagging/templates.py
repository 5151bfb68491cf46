"""A small Handlebars subset: the expressions docker/metadata-action evaluates.

Supported: ``{{name}}`` (HTML-escaped like Handlebars), ``{{{name}}}``,
helper calls with literal or path parameters and ``key=value`` hash
arguments (``{{date 'YYYYMMDD' tz='Asia/Tokyo'}}``), comments
(``{{! ...}}``, ``{{!-- ... --}}``), whitespace control (``{{~ ... ~}}``) and
the ``#if``/``#unless`` blocks with ``{{else}}``.

Values follow Handlebars: a context value that is callable is invoked (with
its parameters, then a :class:`HelperCall` carrying the hash); ``None`` renders
as ``''``; lists join with ``,``; booleans render as ``true``/``false``.
``#if`` is truthy like JavaScript, so the *string* ``'false'`` is truthy, as
in metadata-action (use ``enable={{is_default_branch}}`` to gate a rule).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from promoter.errors import InputError
from promoter.structs import field, struct

__all__ = ["HelperCall", "TemplateError", "is_single_path", "render", "to_text"]


class TemplateError(InputError):
    """A template that cannot be parsed or evaluated."""


@struct(frozen=True)
class HelperCall:
    """What a helper receives besides its positional parameters."""

    hash: Mapping[str, object] = field(default_factory=dict)


@struct
class _Mustache:
    path: str
    params: list[object]
    hash: dict[str, object]
    escape: bool


@struct
class _Block:
    helper: str
    params: list[object]
    body: list[object] = field(default_factory=list)
    inverse: list[object] = field(default_factory=list)


@struct(frozen=True)
class _Path:
    name: str


_TAG = re.compile(r"\{\{(~?)(\{?)(!--.*?--|![^}]*|.*?)(\}?)(~?)\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:(?P<key>[^\s=()'"]+)=)?(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<word>[^\s'"=]+))"""
)
_NUMBER = re.compile(r"-?\d+(\.\d+)?$")
_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}


def _literal(word: str) -> object:
    if word == "true":
        return True
    if word == "false":
        return False
    if word in ("null", "undefined"):
        return None
    if _NUMBER.match(word):
        return float(word) if "." in word else int(word)
    return _Path(word)


def _parse_expression(source: str, template: str) -> tuple[str, list[object], dict[str, object]]:
    text = source.strip()
    params: list[object] = []
    hash_args: dict[str, object] = {}
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise TemplateError(
                f"cannot parse template expression {{{{{source}}}}} in {template!r}"
            )
        position = match.end()
        if match.group("sq") is not None:
            value: object = match.group("sq")
        elif match.group("dq") is not None:
            value = match.group("dq")
        else:
            value = _literal(match.group("word"))
        if match.group("key"):
            hash_args[match.group("key")] = value
        else:
            params.append(value)
        if text[position:].strip() == "":
            break
    if not params or not isinstance(params[0], _Path):
        raise TemplateError(
            f"empty or invalid template expression {{{{{source}}}}} in {template!r}"
        )
    return params[0].name, params[1:], hash_args


def _parse(template: str) -> list[object]:
    root: list[object] = []
    stack: list[tuple[_Block, bool]] = []  # (block, in_else)
    current = root
    position = 0
    pending_rstrip = False
    for match in _TAG.finditer(template):
        text = template[position : match.start()]
        if pending_rstrip:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if text:
            current.append(text)
        position = match.end()
        pending_rstrip = bool(match.group(5))
        body = match.group(3)
        if body.startswith("!"):
            continue
        if body.startswith("#"):
            name, params, _ = _parse_expression(body[1:], template)
            if name not in ("if", "unless"):
                raise TemplateError(f"unsupported block helper #{name} in {template!r}")
            block = _Block(name, params)
            current.append(block)
            stack.append((block, False))
            current = block.body
        elif body.strip() == "else" or body.strip() == "^":
            if not stack:
                raise TemplateError(f"{{{{else}}}} outside a block in {template!r}")
            block, _ = stack[-1]
            stack[-1] = (block, True)
            current = block.inverse
        elif body.startswith("/"):
            if not stack or stack[-1][0].helper != body[1:].strip():
                raise TemplateError(f"unbalanced {{{{{body}}}}} in {template!r}")
            stack.pop()
            if stack:
                block, in_else = stack[-1]
                current = block.inverse if in_else else block.body
            else:
                current = root
        else:
            triple = bool(match.group(2))
            name, params, hash_args = _parse_expression(body, template)
            current.append(_Mustache(name, params, hash_args, escape=not triple))
    if stack:
        raise TemplateError(f"unclosed {{{{#{stack[-1][0].helper}}}}} in {template!r}")
    tail = template[position:]
    if pending_rstrip:
        tail = tail.lstrip()
    if tail:
        current.append(tail)
    return root


def to_text(value: object) -> str:
    """How Handlebars prints a value."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ",".join(to_text(item) for item in value)
    return str(value)


def _truthy(value: object) -> bool:
    return not (value is None or value is False or value == "" or value == 0 or value == [])


def _resolve(value: object, context: Mapping[str, object]) -> object:
    if isinstance(value, _Path):
        found = context.get(value.name)
        return found(HelperCall()) if callable(found) else found
    return value


def _evaluate(node: _Mustache, context: Mapping[str, object]) -> object:
    target = context.get(node.path)
    params = [_resolve(param, context) for param in node.params]
    hash_args = {key: _resolve(value, context) for key, value in node.hash.items()}
    if callable(target):
        return target(*params, HelperCall(hash_args))
    if params or hash_args:
        raise TemplateError(f"missing helper: {node.path!r}")
    return target


def _render(nodes: list[Any], context: Mapping[str, Any]) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Mustache):
            text = to_text(_evaluate(node, context))
            if node.escape:
                text = "".join(_ESCAPES.get(char, char) for char in text)
            out.append(text)
        else:
            if len(node.params) != 1:
                raise TemplateError(f"#{node.helper} takes exactly one argument")
            condition = _truthy(_resolve(node.params[0], context))
            if node.helper == "unless":
                condition = not condition
            out.append(_render(node.body if condition else node.inverse, context))
    return "".join(out)


def render(template: str, context: Mapping[str, object]) -> str:
    """Render ``template`` with ``context`` (values, or callables used as helpers)."""
    return _render(_parse(template), context)


def is_single_path(template: str, name: str) -> bool:
    """Whether the template is exactly one mustache naming ``name`` (like ``{{raw}}``)."""
    try:
        nodes = _parse(template)
    except TemplateError:
        return False
    return (
        len(nodes) == 1
        and isinstance(nodes[0], _Mustache)
        and nodes[0].path == name
        and "." not in nodes[0].path
    )
