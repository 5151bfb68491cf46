"""Finding credentials in image metadata, and redacting them.

Three places are scanned: environment variables (``NAME=value``), labels and
annotations (``name: value``), and history commands (free text that may hold
``NAME=value`` assignments or key material). A finding names the kind and the
key, never the value. ``redact_*`` replace a suspected value with a marker,
``<redacted:KIND>``, which the scanner recognises again, so a redacted facts
document still fails the ``no-secrets`` rule when checked offline.
"""

from __future__ import annotations

import functools
import re

from promoter.structs import struct

__all__ = [
    "Finding",
    "redact_assignment",
    "redact_text",
    "redact_value",
    "scan_assignment",
    "scan_text",
    "secret_name_kind",
]

#: What replaces a suspected secret value: ``<redacted:aws-access-key-id>``.
_MARKER = "<redacted:{kind}>"
_MARKER_RE = re.compile(r"<redacted:([a-z0-9-]+)>")

#: Value patterns: credentials recognisable by their shape alone.
_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "private-key",
        re.compile(
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----)?",
            re.DOTALL,
        ),
    ),
    ("aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b")),
    (
        "azure-connection-string",
        re.compile(
            r"(?:AccountKey|SharedAccessKey|SharedAccessSignature)=[^;\s\"']+",
            re.IGNORECASE,
        ),
    ),
    ("azure-storage-key", re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])")),
    ("github-token", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b")),
    # With a group named ``v``, only that group is the secret (the rest stays readable).
    (
        "aws-secret-access-key",
        re.compile(
            r"(?i)aws_?secret_?access_?key[\"']?\s*[:=\s]\s*[\"']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
    ),
    ("url-credentials", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:(?P<v>[^/\s@$][^/\s@]*)@")),
    (
        "secret-flag",
        re.compile(
            r"(?i)(?<![A-Za-z0-9_-])--(?:password|passwd|token|secret|api-key|access-key)"
            r"\s+(?P<v>[^\s$'\"-][^\s'\"]*)"
        ),
    ),
    ("basic-auth", re.compile(r"(?<!\S)-u\s+[^\s:]+:(?P<v>[^\s$][^\s]*)")),
)

#: Name suffixes that mark a variable or label as holding a credential.
_NAME_SUFFIXES = (
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "SECRET_KEY",
    "PRIVATE_KEY",
    "SECRET_ACCESS_KEY",
    "ACCOUNT_KEY",
    "CONNECTION_STRING",
    "CREDENTIALS",
    "CLIENT_SECRET",
)
#: Names that point at a credential rather than hold one (``DB_PASSWORD_FILE``).
_NAME_POINTER_SUFFIXES = ("_FILE", "_PATH", "_DIR", "_URL", "_URI", "_ENDPOINT", "_HEADER")
_SPLIT = re.compile(r"[^A-Z0-9]+")

#: ``NAME=value`` inside a shell command: quoted or bare values.
_ASSIGNMENT = re.compile(
    r"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_.-]*)=(\"[^\"]*\"|'[^']*'|[^\s;&|\"']+)"
)


@struct(frozen=True)
class Finding:
    """A suspected credential: what kind, where (``env``, ``label``, ``history[3]``), which key."""

    kind: str
    where: str
    key: str | None = None

    def describe(self) -> str:
        """A sentence naming the place and the key, never the value."""
        what = self.kind.replace("-", " ")
        if self.key:
            return f"{self.where} {self.key}: looks like a credential ({what}); value not shown"
        return f"{self.where}: contains what looks like a credential ({what}); value not shown"


def secret_name_kind(name: str) -> str | None:
    """``secret-name`` when a variable or label name says it holds a credential."""
    upper = name.upper()
    normal = "_".join(part for part in _SPLIT.split(upper) if part)
    if not normal or normal.endswith(_NAME_POINTER_SUFFIXES):
        return None
    for suffix in _NAME_SUFFIXES:
        if normal == suffix or normal.endswith("_" + suffix):
            return "secret-name"
    return None


def _value_kinds(value: str) -> list[str]:
    kinds = [match.group(1) for match in _MARKER_RE.finditer(value)]
    kinds.extend(kind for kind, pattern in _VALUE_PATTERNS if pattern.search(value))
    return kinds


def _is_placeholder(value: str) -> bool:
    """Empty values and ``$VAR`` references hold no secret themselves."""
    stripped = value.strip().strip("\"'")
    return not stripped or stripped.startswith("$")


def scan_assignment(name: str, value: str, where: str) -> list[Finding]:
    """Findings for one ``name=value`` pair (an env var, a label, an annotation)."""
    kinds = _value_kinds(value)
    if not kinds and secret_name_kind(name) and not _is_placeholder(value):
        kinds = ["secret-name"]
    return [Finding(kind, where, name) for kind in dict.fromkeys(kinds)]


def scan_text(text: str, where: str) -> list[Finding]:
    """Findings in free text such as a history command; assignments name their key."""
    findings: list[Finding] = []
    rest = text
    for match in _ASSIGNMENT.finditer(text):
        name, value = match.group(1), match.group(2)
        kinds = _value_kinds(value)
        if not kinds and secret_name_kind(name) and not _is_placeholder(value):
            kinds = ["secret-name"]
        if kinds:
            findings.extend(Finding(kind, where, name) for kind in dict.fromkeys(kinds))
            start, end = match.span()
            rest = rest[:start] + " " * (end - start) + rest[end:]
    findings.extend(Finding(kind, where) for kind in dict.fromkeys(_value_kinds(rest)))
    return findings


def redact_value(name: str, value: str) -> str:
    """``value`` with every suspected credential replaced by a marker."""
    redacted = redact_text(value)
    if redacted == value and secret_name_kind(name) and not _is_placeholder(value):
        return _MARKER.format(kind="secret-name")
    return redacted


def redact_assignment(assignment: str) -> str:
    """An ``NAME=value`` environment entry with its value redacted when suspected."""
    name, sep, value = assignment.partition("=")
    if not sep:
        return redact_text(assignment)
    return f"{name}={redact_value(name, value)}"


def _replace_group(match: re.Match[str], group: str, replacement: str) -> str:
    start, end = match.span(group)
    offset = match.start()
    whole = match.group(0)
    return whole[: start - offset] + replacement + whole[end - offset :]


def redact_text(text: str) -> str:
    """Free text with suspected credentials, and values of secret-named assignments, replaced."""
    for kind, pattern in _VALUE_PATTERNS:
        marker = _MARKER.format(kind=kind)
        if "v" in pattern.groupindex:
            text = pattern.sub(
                functools.partial(_replace_group, group="v", replacement=marker), text
            )
        else:
            text = pattern.sub(marker, text)

    def _assignment(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if secret_name_kind(name) and not _is_placeholder(value) and not _MARKER_RE.search(value):
            return f"{name}={_MARKER.format(kind='secret-name')}"
        return match.group(0)

    return _ASSIGNMENT.sub(_assignment, text)
