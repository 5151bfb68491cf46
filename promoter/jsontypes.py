"""The types of JSON documents as Python holds them once parsed.

``JSONValue`` is what ``json.loads`` returns; code that reads a document it did
not write narrows a value with ``isinstance`` before it uses it. ``JSONObject``
is a document's top level, or any object in it.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["JSONObject", "JSONValue"]

#: Any JSON value: a scalar, an array or an object.
JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
#: A JSON object.
JSONObject: TypeAlias = "dict[str, JSONValue]"
