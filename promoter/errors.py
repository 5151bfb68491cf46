"""The one error hierarchy of promoter.

Library code raises these and never prints or exits; ``promoter.cli.main``
maps each class to an exit code in one table (``EXIT_CODES``).

    PromoterError
    ├── InputError              exit 2  bad input: arguments, references, files
    │   ├── ConfigError                 pipeline.yml (carries file, line, column, key path)
    │   ├── TemplateError               a tag or label template that does not render
    │   └── UnsupportedManifestError    a manifest of a kind promoter does not read
    ├── RefusedError            exit 1  refused by policy or by a tag conflict
    │   ├── TagConflict
    │   ├── StalePlanError              a plan whose world moved since it was made
    │   ├── UnboundPlanError            a plan its pipeline file would not make
    │   ├── PolicyRecheckError          a plan's digest an enforced policy fails at apply
    │   └── IncompleteContentError      --finish before every shard put its content
    └── OperationError          exit 3  the operation failed
        ├── RegistryError               carries status, OCI error code, reference
        │   ├── AuthError               names the credential source, never the secret
        │   ├── DigestMismatchError     bytes that do not hash to their digest
        │   └── InvalidManifestError    a manifest that does not parse as its type
        ├── NetworkError
        │   ├── BrokenBody              a body cut short, or longer than it said
        │   └── DeadlineExceeded        no complete answer within the deadline
        └── BuildError
            └── KanikoFailed            kaniko's own failure, with its Dockerfile line

Two ``ValueError`` classes stay outside the tree on purpose: ``units.UnitError`` (a
size or duration that does not read; the config loader and the policy reader
turn it into a ``ConfigError`` at the key's line) and
``config.validator.UnsupportedKeyword`` (our schema uses a keyword the
validator lacks: a defect of promoter's, caught by the schema tests, never a
user's input). ``tests/test_error_tree.py`` holds this drawing to the code.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BuildError",
    "ConfigError",
    "InputError",
    "NetworkError",
    "OperationError",
    "PromoterError",
    "RefusedError",
    "RegistryError",
    "TagConflict",
]


class PromoterError(Exception):
    """Base of every error promoter reports to a user.

    ``message`` is the one clear line printed first; ``detail`` (optional)
    follows it; ``hint`` is a next step for the user.
    """

    def __init__(self, message: str, *, detail: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable form for ``--output json``."""
        out: dict[str, object] = {"type": type(self).__name__, "message": self.message}
        if self.detail:
            out["detail"] = self.detail
        if self.hint:
            out["hint"] = self.hint
        return out


class InputError(PromoterError):
    """Bad input: an argument, a reference, a file."""


class ConfigError(InputError):
    """An error in a pipeline file, located by file, line, column and key path."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.reason = message
        super().__init__(self._compose(message, hint), hint=hint)

    def _compose(self, message: str, hint: str | None) -> str:
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        key = f"{self.path}: " if self.path else ""
        text = f"{where}{key}{message}"
        if hint:
            text += f" ({hint})"
        return text

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out.update(
            {
                "file": self.file,
                "line": self.line,
                "column": self.column,
                "path": self.path,
                "reason": self.reason,
            }
        )
        return out


class RefusedError(PromoterError):
    """Refused by policy or by a tag conflict."""


class TagConflict(RefusedError):
    """An immutable tag already points at another digest."""


class OperationError(PromoterError):
    """The operation failed: registry, network, auth, build."""


class RegistryError(OperationError):
    """A registry answered with an error.

    Carries the HTTP status, the OCI error code (``MANIFEST_UNKNOWN``,
    ``DENIED``, ...) and the reference it concerned.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        reference: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, detail=detail, hint=hint)
        self.status = status
        self.code = code
        self.reference = reference

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out.update({"status": self.status, "code": self.code, "reference": self.reference})
        return out


class AuthError(RegistryError):
    """Authentication or authorization failed; says which credential source was tried."""


class NetworkError(OperationError):
    """The registry could not be reached, or the connection broke beyond the retry bound."""


class BuildError(OperationError):
    """An image build failed."""
