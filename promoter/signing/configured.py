"""The signing key a pipeline names (``signing:``, or a promote rule's ``sign:``), loaded.

The key comes from a file (cosign's encrypted format or PEM) or from an
environment variable holding the PEM text; its password from another variable
(``COSIGN_PASSWORD`` by default). Everything read is registered with
``promoter.redaction`` before anything else happens to it, so it is never
printed, logged or put in an error (and is masked on CI). Loaded keys are
kept per source for the process, so one run decrypts a key once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from promoter.config.inputfile import read_input_text
from promoter.config.model import SigningConfig
from promoter.environment import snapshot
from promoter.errors import InputError
from promoter.redaction import register_secret
from promoter.signing.keys import SigningKey, load_private_key

__all__ = ["load_signing_key"]

_lock = threading.Lock()
_loaded: dict[tuple[str | None, str | None, str], SigningKey] = {}
_ENCRYPTED = "ENCRYPTED"


def _key_text(config: SigningConfig, environ: Mapping[str, str]) -> tuple[str, str]:
    if config.key_env is not None:
        text = environ.get(config.key_env)
        register_secret(text.strip() if text else None)
        if not text or not text.strip():
            raise InputError(
                f"the signing key variable {config.key_env} is not set",
                hint=f"set {config.key_env} to the key's PEM text (promoter keygen writes one)",
            )
        return text, f"${config.key_env}"
    if config.key_file is None:
        raise InputError("no signing key is configured", hint="add signing: {key_file: PATH}")
    text = read_input_text(str(config.key_file), what="signing key")
    register_secret(text.strip())
    return text, str(config.key_file)


def _load(config: SigningConfig, environ: Mapping[str, str]) -> SigningKey:
    text, source = _key_text(config, environ)
    password = environ.get(config.password_env)
    register_secret(password)
    if password is None and _ENCRYPTED in text:
        raise InputError(
            f"{source}: the signing key is encrypted and {config.password_env} is not set",
            hint=f"set {config.password_env} to the key's password",
        )
    try:
        return load_private_key(text, password, source=source)
    except InputError as error:
        if "wrong password" not in error.message:
            raise
        raise InputError(
            f"{source}: wrong password for the signing key",
            hint=f"{config.password_env} holds another password than the key's",
        ) from None


def load_signing_key(config: SigningConfig, environ: Mapping[str, str] | None = None) -> SigningKey:
    """The key ``config`` names, decrypted; ``InputError`` (exit 2) when it cannot be:
    a missing file or variable, an unset or wrong password, not a P-256 key. Variables
    are read from ``environ`` (None: a snapshot of this process's)."""
    source = (str(config.key_file) if config.key_file else None, config.key_env)
    cache_key = (*source, config.password_env)
    with _lock:
        known = _loaded.get(cache_key)
    if known is not None:
        return known
    key = _load(config, snapshot() if environ is None else environ)
    with _lock:
        _loaded[cache_key] = key
    return key
