"""Registry error answers -> ``RegistryError`` / ``AuthError`` with status, OCI code, reference."""

from __future__ import annotations

import json

from promoter.errors import AuthError, RegistryError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.transport.wire import Response

__all__ = ["AUTH_CODES", "error_from_response", "parse_error_body"]

#: OCI error codes that mean "who you are is not allowed".
AUTH_CODES = frozenset({"DENIED", "UNAUTHORIZED"})

_STATUS_WORDS = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    408: "request timeout",
    413: "payload too large",
    416: "range not satisfiable",
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


def parse_error_body(body: bytes) -> tuple[str | None, str | None]:
    """The first OCI error's ``(code, message)`` from a JSON error body, if any."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(document, dict):
        return None, None
    errors = document.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = first.get("code")
        message = first.get("message")
        return (str(code) if code else None, str(message) if message else None)
    return None, None


def error_from_response(
    response: Response,
    reference: str,
    *,
    action: str,
    credential_source: str | None = None,
) -> RegistryError:
    """The error for a failed answer; ``response`` must have been read."""
    try:
        body = response.content
    except Exception:  # a streamed body that was not read: no detail then
        body = b""
    return error_from_status(
        response.status_code, body, reference, action=action, credential_source=credential_source
    )


def error_from_status(
    status: int,
    body: bytes,
    reference: str,
    *,
    action: str,
    credential_source: str | None = None,
) -> RegistryError:
    """The error for a failed answer given as its status and (the start of) its body."""
    code, detail = parse_error_body(body[:65536])
    what = code or _STATUS_WORDS.get(status, "error")
    message = f"{action} {reference}: {what} (HTTP {status})"
    if detail:
        message += f": {detail}"
    if status in (401, 403) or code in AUTH_CODES:
        source = credential_source or "no credentials (anonymous)"
        return AuthError(
            message,
            status=status,
            code=code,
            reference=reference,
            detail=f"credentials tried: {source}",
            hint="check the registry credentials (docker login, credential helper or "
            "PROMOTER_REGISTRY_* variables) and the repository permissions",
        )
    return RegistryError(message, status=status, code=code, reference=reference)
