"""``RegistryRequest``, what travels down the transport's layers, and the one seam they share.

Every layer is a ``Handler``: ``handle(request) -> Response`` (``wire.Response``). A layer holds the one below it and adds
one concern; each can be tested alone over a stub or a real exchange.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from promoter.structs import Protocol, struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import KW_ONLY

    from promoter.registry.transport.wire import Response

__all__ = ["Handler", "RegistryRequest"]


@struct(frozen=True)
class RegistryRequest:
    """One request to a registry, and what the layers should do with it.

    ``url`` is absolute, or a path on the registry (``RegistryTransport`` makes
    it absolute before the layers see it).
    ``scopes`` are the token scopes it needs; ``reference`` and ``action`` name
    it in errors; ``expect`` are the statuses the caller handles itself (any
    other raises ``RegistryError``, after the retries the table allows).
    ``retry`` is honoured only for a replayable body (bytes or none); ``stream``
    leaves the body unread for the caller. ``pace`` is called as the request is
    written to the socket (the registry's rate, ``RateGate``); a hop to storage drops it.
    """

    method: str
    url: str
    _: KW_ONLY
    scopes: Sequence[str] = ()
    reference: str = ""
    action: str = ""
    expect: Sequence[int] = (200,)
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    content: bytes | Iterable[bytes] | None = None
    retry: bool = True
    follow_redirects: bool = False
    stream: bool = False
    pace: Callable[[], object] | None = None

    @property
    def replayable(self) -> bool:
        """Whether the body can be sent again (bytes or none, not an iterator)."""
        return self.content is None or isinstance(self.content, bytes)


class Handler(Protocol):
    """One layer of the transport (or the exchange at its bottom)."""

    def handle(self, request: RegistryRequest) -> Response:
        """Send ``request`` on, and return the answer (any status)."""
        ...
