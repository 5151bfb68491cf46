"""The secrets this process holds, so that none of them is ever shown.

Every layer that reads a secret (a registry password, an identity token, an
exchanged ACR token, a bearer token) registers it here the moment it has it.
Two things follow:

- ``redact(text)`` replaces every registered secret, in its plain and base64
  forms (a ``Basic`` header carries ``user:password`` in base64), and any
  ``Basic``/``Bearer`` credential with ``***``; the CLI passes every document,
  error, log line and CI command through it;
- listeners hear each new secret before any use of it can be printed: the CI
  adapters turn that into ``::add-mask::`` (GitHub) or ``task.setsecret``
  (Azure DevOps), so the service's log masks it as well.

It is process-wide on purpose: a secret read anywhere must be hidden everywhere.
This module imports nothing of promoter's, so every layer may use it.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable

__all__ = ["REDACTED", "on_secret", "redact", "register_secret", "secrets"]

REDACTED = "***"

#: A credential in the form an HTTP header carries it, whoever's it is: a registry
#: that quotes a request's ``Authorization`` header in its error shows one.
#: Case as the header has it, and a value that looks like one (long enough, not a word:
#: "Basic authentication" and "Bearer challenge" stay as they are).
_CREDENTIAL = re.compile(r"\b(Basic|Bearer)(\s+)([A-Za-z0-9._~+/-]{8,}=*)")


def _credential(match: re.Match[str]) -> str:
    value = match.group(3)
    if value.isalpha() and value.islower():
        return match.group(0)  # a word, not a credential
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


#: Shorter values are still registered (and masked on CI) but not replaced in
#: our own texts: replacing every "ab" would garble a message for no safety.
_MIN_REDACT = 4

_lock = threading.Lock()
_secrets: list[str] = []
#: Every form of every secret long enough to replace, longest first (kept as they register:
#: redact runs on every line printed, kaniko's included).
_replaced: list[str] = []
_listeners: list[Callable[[str], None]] = []


def _forms(secret: str) -> list[str]:
    """The secret and the encodings it travels in."""
    forms = [secret]
    raw = secret.encode("utf-8", "surrogateescape")
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms += [text, text.rstrip("=")]
    return forms


def register_secret(value: str | None) -> None:
    """Remember ``value`` as a secret (None and empty values are ignored)."""
    if not value:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.append(value)
        forms = {*_replaced, *(f for f in _forms(value) if len(f) >= _MIN_REDACT)}
        # Longest first, so a secret inside another's base64 form cannot leave a part behind.
        _replaced[:] = sorted(forms, key=len, reverse=True)
        listeners = list(_listeners)
    for listener in listeners:
        listener(value)


def secrets() -> tuple[str, ...]:
    """Every secret registered so far."""
    with _lock:
        return tuple(_secrets)


def on_secret(listener: Callable[[str], None], *, replay: bool = True) -> Callable[[], None]:
    """Call ``listener`` with each new secret (and, with ``replay``, those known already).

    Returns a function that removes the listener.
    """
    with _lock:
        _listeners.append(listener)
        known = list(_secrets) if replay else []
    for value in known:
        listener(value)

    def remove() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return remove


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``, and every
    ``Basic``/``Bearer`` credential, known or not, cut to ``Basic ***``."""
    with _lock:
        forms = list(_replaced)
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return _CREDENTIAL.sub(_credential, text)
