"""Text promoter did not write, made safe to show: the rules of the CI trust boundary.

A GitHub runner acts on a line of a step's output that starts with ``::``
(after leading spaces) and on the legacy ``##[name ...]`` form anywhere in a
line; an Azure DevOps agent acts on the first ``##vso[`` anywhere in a line
and renders ``##[group]``, ``##[error]``...; both split lines on CR as well
as LF. Registry messages, image config values and labels, annotations, build
output, git refs, file names and report fields are chosen by whoever can push
to staging or open a pull request, so none of them may ever start or contain
such a command.

The rules here are pure functions, importable from every layer:

- ``one_line``: a single value in text output. Control characters (CR and LF
  first) are shown as escapes (``\\r``, ``\\n``, ``\\x1b``), so a value stays on
  its line and cannot move a terminal's cursor; then ``neutralize``.
- ``neutralize``: one line of output. ``##[`` and ``##vso[`` (any case) become
  ``\\u0023#[``/``\\u0023#vso[``, a leading ``::`` becomes ``\\u003a:``, and a CR
  is shown as ``\\r``. The escapes are JSON's, so a JSON document stays valid
  and decodes to the same values.
- ``markdown_text`` and ``markdown_code``: a value in a Markdown table cell,
  HTML-escaped and its markup escaped (or in a code span), pipes escaped, one
  line. Markdown printed on stdout still passes ``neutralize`` on its way out.

``promoter.ci.boundary`` applies ``neutralize`` to every line promoter writes
to stdout and stderr that is not one of its own service commands.
"""

from __future__ import annotations

import re

__all__ = [
    "has_command",
    "markdown_code",
    "markdown_text",
    "neutralize",
    "neutralize_lines",
    "one_line",
]

# The patterns but the colons' are texts: ``re`` compiles each at its first use, and a
# command that succeeds prints no ``#``, control character or Markdown.
#: ``##[`` (GitHub's legacy commands, Azure's formatting) and ``##vso[`` (Azure's commands).
_HASH_COMMAND = r"(?i)##(?=\[|vso\[)"
#: A line a runner reads as a workflow command: ``::`` after leading spaces.
_LEADING_COLONS = re.compile(r"^(\s*):(?=:)")
#: Control characters but the tab: C0, DEL, C1, and the Unicode line and paragraph separators.
_CONTROL = "[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]"
_NAMED = {"\n": "\\n", "\r": "\\r"}
#: What Markdown reads as markup in running text; each is escaped with a backslash.
_MARKDOWN = r"([\\`*_\[\]|~#])"


def _escape_control(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def neutralize(line: str) -> str:
    """One line of output that no CI service reads as a command (see the module text)."""
    if "\r" in line:
        line = line.replace("\r", "\\r")
    if "#" in line:
        line = re.sub(_HASH_COMMAND, "\\\\u0023#", line)
    if ":" in line:
        line = _LEADING_COLONS.sub("\\1\\\\u003a", line, count=1)
    return line


def neutralize_lines(text: str) -> str:
    """``neutralize`` on each line of ``text`` (an annotation's message may have several)."""
    return "\n".join(neutralize(line) for line in text.split("\n"))


def has_command(line: str) -> bool:
    """Whether some CI service would read ``line`` (one line, no CR) as a command."""
    return bool(re.search(_HASH_COMMAND, line) or _LEADING_COLONS.search(line))


def one_line(value: object) -> str:
    """A value from outside as one line of text: control characters escaped, no command."""
    text = "" if value is None else str(value)
    return neutralize(re.sub(_CONTROL, _escape_control, text))


def markdown_text(value: object) -> str:
    """A value from outside in Markdown running text or a table cell: one line, its HTML
    escaped and its Markdown markup shown as text, so it renders as the characters it is."""
    text = re.sub(_CONTROL, _escape_control, "" if value is None else str(value))
    # html.escape(text, quote=False), without importing html (and its entity tables) at start.
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # HTML-escaped first (&amp; &lt; &gt;: no entity holds a character escaped below).
    return re.sub(_MARKDOWN, r"\\\1", escaped)


def markdown_code(value: object) -> str:
    """A value from outside as a Markdown code span in a table cell.

    A code span shows its text as it is (no HTML, no markup), so only its fence needs
    care: a run of backticks in the value gets a longer fence. Pipes are escaped, as a
    table cell needs even inside a code span.
    """
    text = re.sub(_CONTROL, _escape_control, "" if value is None else str(value))
    text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"
