"""Transport failures in words (which TLS problem, and what the user can do), and
whether a failed operation is worth running again."""

from __future__ import annotations

import ssl

from promoter.errors import NetworkError, RegistryError
from promoter.registry.access.retry import is_retryable_status
from promoter.registry.transport.deadline import DeadlineExceeded

__all__ = [
    "BrokenBody",
    "broken_words",
    "is_retryable_error",
    "network_error",
    "ssl_failure",
]


#: What a transport exception means, in words (by class name, for httpx's and http.client's).
_BROKEN_WORDS = {
    "RemoteProtocolError": "the connection closed before the whole answer arrived",
    "IncompleteRead": "the connection closed before the whole answer arrived",
    "ReadError": "the connection broke while reading",
    "ConnectionResetError": "the connection was reset",
    "BrokenPipeError": "the connection was closed by the other side",
    "ReadTimeout": "the registry stopped sending",
    "TimeoutError": "the registry stopped sending",
    "WriteError": "the connection broke while sending",
}


def broken_words(error: BaseException) -> str:
    """Why a connection broke, in words, with the exception's class for the curious."""
    name = type(error).__name__
    words = next(
        (
            _BROKEN_WORDS[cls.__name__]
            for cls in type(error).__mro__
            if cls.__name__ in _BROKEN_WORDS
        ),
        "the connection broke",
    )
    return f"{words} ({name})"


def ssl_failure(error: BaseException) -> BaseException | None:
    """The SSL error behind a transport exception (walking its causes), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        current = current.__cause__ or current.__context__
    text = str(error)
    if "SSL" in text or "TLS" in text or "CERTIFICATE" in text.upper():
        return error
    return None


def network_error(host: str, error: BaseException, action: str) -> NetworkError:
    """The ``NetworkError`` for a transport failure that survived the retries."""
    ssl_error = ssl_failure(error)
    if isinstance(ssl_error, ssl.SSLCertVerificationError) or (
        ssl_error is not None and "CERTIFICATE" in str(ssl_error).upper()
    ):
        return NetworkError(
            f"{host}: TLS certificate not trusted ({action})",
            detail=str(ssl_error),
            hint=f"pass --ca-file BUNDLE.pem (or set the registry's ca_file in pipeline.yml), "
            f"or --insecure-registry {host} if this registry is yours and on a trusted network",
        )
    return NetworkError(
        f"{host}: {action} failed: {type(error).__name__}: {error}".rstrip(": "),
        hint="the registry may be down or unreachable; it was retried within the bounds",
    )


class BrokenBody(NetworkError):
    """A streamed answer's body broke while it was read; ``error`` is why (the
    transport exception, which the retry table judges)."""

    def __init__(self, host: str, error: BaseException, action: str) -> None:
        super().__init__(
            f"{host}: {action}: {broken_words(error)}",
            hint="the registry may be overloaded or restarting",
        )
        self.error = error


def is_retryable_error(error: BaseException) -> bool:
    """Whether an operation that failed with ``error`` is worth running again: the
    connection broke beyond one request's retries (``NetworkError``), or the
    registry's answer is in the table (a busy or failing registry; never a 401).
    A spent deadline or a transfer under its speed floor is final: trying again
    would take as long again."""
    if isinstance(error, NetworkError):
        return not isinstance(error, DeadlineExceeded)
    return (
        isinstance(error, RegistryError)
        and error.status is not None
        and is_retryable_status(error.status, error.code)
    )
