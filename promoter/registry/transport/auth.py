"""Authentication against one registry: anonymous, Basic, and Docker bearer tokens.

The registry's ``/v2/`` ping or a 401 answer carries a challenge. For Basic,
every request carries the credential. For Bearer, a token is fetched from the
realm for the scopes a request needs (``repository:NAME:pull`` for reads,
``repository:NAME:pull,push`` for writes, plus ``repository:SRC:pull`` for a
cross-repository mount) and cached per scope set until shortly before it expires.

With an identity (refresh) token the token endpoint is called with
``POST grant_type=refresh_token``; otherwise with ``GET ?service&scope``, with
Basic credentials when we have a username and password. The token request
goes through the handler the transport gives (``RegistryTransport``: the retry
table, the registry's pace, the exchange's deadline and body bound), but not
through the request budget: the request that needs the token already holds a
slot, and a second one could wait for ever when every slot waits for a token.
"""

from __future__ import annotations

import base64
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping

from promoter.errors import AuthError, NetworkError, RegistryError
from promoter.redaction import register_secret
from promoter.registry.access.credentials import Credential
from promoter.registry.access.retry import is_retryable_status
from promoter.registry.transport.challenge import Challenge, parse_challenge
from promoter.registry.transport.errors import parse_error_body
from promoter.registry.transport.layers.exchange import capped
from promoter.registry.transport.layers.request import RegistryRequest
from promoter.registry.transport.wire import Request, Response, Sender, TransportError
from promoter.structs import replace, struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.transport.layers.request import Handler

__all__ = ["Authenticator", "Token", "basic_header", "pull_scope", "push_scope", "token_request"]

_DEFAULT_TOKEN_LIFETIME = 60.0
_EXPIRY_MARGIN = 0.9  # refresh at 90% of the lifetime
#: How a token request is named in errors: "get token from REALM".
_TOKEN_ACTION = "get token from"


def pull_scope(repository: str) -> str:
    """The token scope to read ``repository``."""
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    """The token scope to write ``repository``."""
    return f"repository:{repository}:pull,push"


def basic_header(username: str, password: str) -> str:
    """An ``Authorization: Basic`` value."""
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


@struct(frozen=True)
class Token:
    """A bearer token and when it stops being usable (monotonic clock)."""

    value: str
    expires: float

    def fresh(self) -> bool:
        return time.monotonic() < self.expires


class Authenticator:
    """Headers for requests to one registry; thread-safe; tokens cached per scope set.

    ``http`` is the registry's client, for an identity-token factory (Azure's
    exchange); ``send`` takes the token requests (see the module).
    """

    def __init__(
        self,
        host: str,
        credential_lookup: Callable[[], Credential | None],
        http: Callable[[], Sender],
        send: Handler,
    ) -> None:
        self.host = host
        #: Where token requests go: retried, paced and bounded, without a budget slot.
        self._send = send
        self._lookup = credential_lookup
        self._credential: Credential | None = None
        self._looked_up = False
        self._http = http
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], Token] = {}
        self._fetching: dict[tuple[str, ...], threading.Lock] = {}
        self._lock = threading.Lock()
        self.token_requests = 0

    @property
    def credential(self) -> Credential | None:
        """The credential for this host (looked up once, lazily)."""
        with self._lock:
            if not self._looked_up:
                self._credential = self._lookup()
                self._looked_up = True
            return self._credential

    @property
    def source(self) -> str:
        """Which credential source is in use, for error messages (never the secret)."""
        credential = self.credential
        return credential.source if credential else "no credentials (anonymous)"

    def resolved(self) -> Credential | None:
        """The credential with its identity token made (Azure's exchange), when the
        registry's bearer challenge is known; otherwise as looked up."""
        credential = self.credential
        challenge = self._challenge
        if (
            credential is not None
            and not credential.identity_token
            and credential.identity_token_factory is not None
            and challenge is not None
            and challenge.scheme == "bearer"
            and challenge.realm
        ):
            return self._with_identity_token(credential, challenge.realm, challenge.service or "")
        return credential

    def learn(self, response: Response) -> None:
        """Remember the challenge of a ping or 401 answer."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate"))
        if challenge is not None:
            with self._lock:
                self._challenge = challenge

    def headers(self, scopes: Iterable[str]) -> dict[str, str]:
        """The Authorization header for a request needing ``scopes`` (may fetch a token)."""
        challenge = self._challenge
        if challenge is None:
            return {}
        if challenge.scheme == "basic":
            credential = self.credential
            if credential and credential.username and credential.password:
                return {"Authorization": basic_header(credential.username, credential.password)}
            return {}
        if challenge.scheme == "bearer":
            return {"Authorization": f"Bearer {self._token(tuple(sorted(set(scopes))))}"}
        return {}

    def unauthorized(self, response: Response, scopes: Iterable[str]) -> bool:
        """After a 401: learn its challenge, drop the cached token; True if a retry may help."""
        before = self._challenge
        self.learn(response)
        key = tuple(sorted(set(scopes)))
        with self._lock:
            dropped = self._tokens.pop(key, None)
        challenge = self._challenge
        if challenge is None:
            return False
        if before is None or before.scheme != challenge.scheme:
            return True  # first challenge for this host (or a new scheme): try with it
        return dropped is not None and challenge.scheme == "bearer"

    def _token(self, scopes: tuple[str, ...]) -> str:
        with self._lock:
            cached = self._tokens.get(scopes)
            if cached is not None and cached.fresh():
                return cached.value
            fetching = self._fetching.setdefault(scopes, threading.Lock())
        # Threads that need the same scopes at once wait for one token request.
        with fetching:
            with self._lock:
                cached = self._tokens.get(scopes)
                if cached is not None and cached.fresh():
                    return cached.value
            token = self._fetch_token(scopes)
            with self._lock:
                self._tokens[scopes] = token
            return token.value

    def _fetch_token(self, scopes: tuple[str, ...]) -> Token:
        challenge = self._challenge
        assert challenge is not None
        realm = challenge.realm
        if not realm:
            raise AuthError(f"{self.host}: bearer challenge without a realm", reference=self.host)
        credential = self.credential
        service = challenge.service or ""
        if (
            credential is not None
            and not credential.identity_token
            and credential.identity_token_factory is not None
        ):
            credential = self._with_identity_token(credential, realm, service)
        self.token_requests += 1
        request = token_request(realm, service, scopes, credential)
        try:
            response = self._send.handle(request)
        except TransportError as error:
            raise NetworkError(
                f"{self.host}: token endpoint {realm} unreachable: {type(error).__name__}"
            ) from None
        if response.status_code != 200:
            raise self._token_error(response, realm)
        try:
            document = response.json()
        except ValueError:
            document = None
        return _token_from(document)

    def _token_error(self, response: Response, realm: str) -> RegistryError:
        """What a token endpoint's answer other than 200 means: refused credentials
        (401, 403), a busy or failing endpoint (the retry table's statuses, after its
        attempts), or another answer, said as it is."""
        status = response.status_code
        if status in (401, 403):
            return AuthError(
                f"{self.host}: the token endpoint refused the credentials (HTTP {status})",
                status=status,
                code="UNAUTHORIZED",
                reference=self.host,
                detail=f"credentials tried: {self.source}",
            )
        code, _ = parse_error_body(response.content)
        if is_retryable_status(status, code):
            return RegistryError(
                f"{self.host}: the token endpoint {realm} is unavailable (HTTP {status})",
                status=status,
                code=code,
                reference=self.host,
                hint="the registry's token service may be down or busy; "
                "it was retried within the bounds: run again later",
            )
        return RegistryError(
            f"{self.host}: the token endpoint {realm} answered HTTP {status}"
            + (f" ({code})" if code else ""),
            status=status,
            code=code,
            reference=self.host,
        )

    def _post_form(self, url: str, form: Mapping[str, str]) -> tuple[int, bytes]:
        """``POST`` ``form`` to ``url`` (an identity-token exchange): status and body."""
        content = urllib.parse.urlencode(dict(form)).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            answer = capped(
                self._http().send(Request("POST", url, headers=headers, content=content))
            )
        except TransportError as error:
            raise NetworkError(f"{self.host}: {url} unreachable: {type(error).__name__}") from None
        return answer.status_code, answer.content

    def _with_identity_token(self, credential: Credential, realm: str, service: str) -> Credential:
        """Run the credential's identity-token factory once (Azure's exchange) and keep it."""
        factory = credential.identity_token_factory
        assert factory is not None
        token = factory(realm, service, self._post_form)
        made = replace(credential, identity_token=token, identity_token_factory=None)
        with self._lock:
            self._credential = made
        return made


def token_request(
    realm: str, service: str, scopes: Iterable[str], credential: Credential | None
) -> RegistryRequest:
    """The token request: ``POST`` the refresh-token grant with an identity token, else
    ``GET`` the realm with every scope as its own ``scope`` parameter (the realm's own
    query kept) and Basic credentials when there are a username and a password."""
    if credential is not None and credential.identity_token:
        form = {
            "grant_type": "refresh_token",
            "service": service,
            "scope": " ".join(scopes),
            "refresh_token": credential.identity_token,
            "client_id": "promoter",
        }
        return RegistryRequest(
            "POST",
            realm,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            content=urllib.parse.urlencode(form).encode("ascii"),
            action=_TOKEN_ACTION,
            reference=realm,
        )
    query = [("scope", scope) for scope in scopes]
    if service:
        query.append(("service", service))
    parts = urllib.parse.urlsplit(realm)
    joined = "&".join(q for q in (parts.query, urllib.parse.urlencode(query)) if q)
    headers: dict[str, str] = {}
    if credential is not None and credential.username and credential.password:
        headers["Authorization"] = basic_header(credential.username, credential.password)
    url = parts._replace(query=joined).geturl()
    return RegistryRequest("GET", url, headers=headers, action=_TOKEN_ACTION, reference=realm)


def _token_from(document: object) -> Token:
    if not isinstance(document, dict):
        raise AuthError("the token endpoint answered without a token")
    value = document.get("token") or document.get("access_token")
    if not isinstance(value, str) or not value:
        raise AuthError("the token endpoint answered without a token")
    register_secret(value)
    try:
        lifetime = float(document.get("expires_in") or _DEFAULT_TOKEN_LIFETIME)
    except (TypeError, ValueError):
        lifetime = _DEFAULT_TOKEN_LIFETIME
    return Token(value, time.monotonic() + max(lifetime, 1.0) * _EXPIRY_MARGIN)
