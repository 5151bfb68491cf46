"""Build arguments that look like secrets but are written in the pipeline file.

``args: {NPM_TOKEN: "abc123"}`` puts a credential in a file that is committed, reviewed
and copied around; ``args: {NPM_TOKEN: {env: NPM_TOKEN}}`` takes it from the job's
environment instead. Such a literal is a ``validate`` warning at its line (the file
still loads: exit 0), and the build treats its value as a secret (registered for
redaction, given to kaniko through its environment, withheld from the provenance).

A name looks like a secret when one of its word parts (split at ``_``, ``-``, ``.`` and
camelCase humps, case-insensitively) is a password, token, secret or key word:
``NPM_TOKEN``, ``api-key``, ``dbPassword``, ``AWS_SECRET_ACCESS_KEY``; not ``MONKEY``,
``KEYBOARD`` or ``TOKENIZER_VERSION``. A name that ends in a pointer to one
(``SSH_KEY_FILE``, ``KEY_ID``, ``TOKEN_URL``) does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from promoter.config.model import ConfigWarning
from promoter.config.problems import format_path
from promoter.config.source import Document

__all__ = ["literal_secret_warnings", "secret_arg_name"]

#: Word parts that say a value is a credential.
_SECRET_WORDS = frozenset(
    {
        "PASSWORD",
        "PASSWD",
        "PWD",
        "PASSPHRASE",
        "TOKEN",
        "SECRET",
        "KEY",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
    }
)
#: Last word parts that name where a credential is, or which one, rather than hold it.
_POINTER_WORDS = frozenset(
    {"FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HEADER", "ID", "NAME", "TYPE", "ENV"}
)
_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[_.\-\s]+")


def secret_arg_name(name: str) -> bool:
    """Whether a build argument called ``name`` holds a credential by its name."""
    words = [w.upper() for w in _SEPARATORS.split(_HUMP.sub("_", name)) if w]
    if not words or words[-1] in _POINTER_WORDS:
        return False
    return any(word in _SECRET_WORDS for word in words)


def _literal(value: object) -> bool:
    """A value written in the file (not ``{env: VARIABLE}``), and not empty."""
    return not isinstance(value, Mapping) and value is not None and str(value).strip() != ""


def literal_secret_warnings(doc: Document) -> list[ConfigWarning]:
    """A warning at each build argument with a secret-looking name and a literal value."""
    return list(_warnings(doc))


def _warnings(doc: Document) -> Iterator[ConfigWarning]:
    images = doc.data.get("images")
    for name, image in (images if isinstance(images, Mapping) else {}).items():
        build = image.get("build") if isinstance(image, Mapping) else None
        args = build.get("args") if isinstance(build, Mapping) else None
        for key, value in (args if isinstance(args, Mapping) else {}).items():
            if not isinstance(key, str) or not secret_arg_name(key) or not _literal(value):
                continue
            path = ("images", name, "build", "args", key)
            mark = doc.key_mark(path)
            yield ConfigWarning(
                doc.file,
                mark.line,
                mark.column,
                format_path(path),
                "a literal secret in the pipeline file; take it from the environment "
                f"with {{env: {key}}}",
            )
