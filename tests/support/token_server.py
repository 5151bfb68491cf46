"""A small Docker token server (and ACR-style exchange) for distribution's ``auth: token``.

distribution 2.8 verifies JWTs signed by a key whose certificate is in its
``rootcertbundle``. The JOSE header names the key either by ``kid`` — libtrust's
key ID: base32 of the first 240 bits of the SHA-256 of the DER public key, in 12
colon-separated groups of 4 — or by an ``x5c`` chain ending at a root. Claims:
``iss``, ``sub``, ``aud`` (the service), ``exp``/``nbf``/``iat``, ``jti`` and
``access`` (``[{"type": "repository", "name": ..., "actions": [...]}]``).

Endpoints (the same handler serves ``/token`` and ``/oauth2/token``):

* ``GET  /token?service=S&scope=...`` with optional Basic credentials;
* ``POST /token`` form ``grant_type=password|refresh_token`` (Docker's OAuth2 form);
* ``POST /oauth2/exchange`` form ``grant_type=access_token, service, access_token
  [, tenant]`` -> ``{"refresh_token"}`` (as Azure Container Registry answers).

Users map to the actions they may have; unknown users get 401. Every request is
recorded (method, path, parameter *names*, when it arrived) so tests can count
and inspect them.

Faults, for the token request's retries and bounds: ``failures`` answers of
``failure_status`` (with ``Retry-After: 0``) come before any token (a negative
count: every answer), and ``stall`` holds each answer back that many seconds.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["TokenServer", "answer_json", "libtrust_key_id"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(public_der: bytes) -> str:
    """libtrust's key ID of a DER (SubjectPublicKeyInfo) public key."""
    digest = hashlib.sha256(public_der).digest()[:30]
    encoded = base64.b32encode(digest).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, 48, 4))


@dataclass
class Recorded:
    """One request the token server saw (parameter names only: no secrets)."""

    method: str
    path: str
    params: tuple[str, ...]
    scopes: tuple[str, ...]
    authorized_as: str | None
    #: ``time.monotonic()`` when it arrived.
    at: float = field(default_factory=time.monotonic)


@dataclass
class TokenServer:
    """The token server; ``start(directory)`` writes its signing certificate there."""

    service: str = "promoter-test-registry"
    issuer: str = "promoter-test-issuer"
    users: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    anonymous_actions: tuple[str, ...] = ()
    entra_token: str | None = None
    header_mode: str = "kid"  # kid | x5c
    lifetime: int = 300
    requests: list[Recorded] = field(default_factory=list)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    failures: int = 0
    failure_status: int = 503
    stall: float = 0.0

    def start(self, directory: Path) -> TokenServer:
        """Generate the key and certificate, and serve on a free loopback port."""
        self._make_key(directory)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    def _make_key(self, directory: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "promoter test token signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self._key = key
        self._cert_der = cert.public_bytes(serialization.Encoding.DER)
        public_der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = libtrust_key_id(public_der)
        self.rootcertbundle = str(directory / "token-signer.pem")
        Path(self.rootcertbundle).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def token_auth_config(self, realm: str | None = None) -> Any:
        """The registry side: ``start_registry(token=...)``."""
        from tests.support.registry import TokenAuthConfig

        return TokenAuthConfig(
            realm=realm or self.realm,
            service=self.service,
            issuer=self.issuer,
            rootcertbundle=self.rootcertbundle,
        )

    # -- tokens -----------------------------------------------------------

    def sign(self, subject: str, access: list[dict[str, Any]]) -> str:
        """A JWT distribution 2.8 accepts."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        header: dict[str, Any] = {"typ": "JWT", "alg": "ES256"}
        if self.header_mode == "x5c":
            header["x5c"] = [base64.b64encode(self._cert_der).decode()]
        else:
            header["kid"] = self.key_id
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.lifetime,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def grant(self, user: str | None, scopes: list[str]) -> list[dict[str, Any]]:
        """The access entries ``user`` gets for the requested scopes."""
        allowed = self.users[user][1] if user in self.users else self.anonymous_actions
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            granted = [a for a in actions if a in allowed or "*" in allowed]
            if granted:
                access.append({"type": kind, "name": name, "actions": granted})
        return access


def answer_json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    """Answer ``body`` as JSON (the stand-in servers of the tests all speak it)."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _handler(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            answer_json(self, status, body)

        def _fault(self) -> bool:
            """Answer with the configured fault instead of serving; True if it did."""
            if server.stall:
                time.sleep(server.stall)
            if server.failures == 0:
                return False
            server.failures -= 1 if server.failures > 0 else 0
            data = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "busy"}]}).encode()
            self.send_response(server.failure_status)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True

        def _basic_user(self) -> tuple[str | None, bool]:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return None, True
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            known = server.users.get(user)
            return user, known is not None and known[0] == password

        def _record(self, params: dict[str, list[str]], user: str | None) -> None:
            scopes = tuple(s for value in params.get("scope", []) for s in value.split())
            server.requests.append(
                Recorded(
                    self.command, urlsplit(self.path).path, tuple(sorted(params)), scopes, user
                )
            )

        def _issue(self, user: str | None, params: dict[str, list[str]]) -> None:
            scopes = [s for value in params.get("scope", []) for s in value.split()]
            if params.get("service", [server.service])[0] != server.service:
                self._answer(400, {"errors": [{"code": "UNSUPPORTED", "message": "service"}]})
                return
            token = server.sign(user or "", server.grant(user, scopes))
            self._answer(
                200,
                {
                    "token": token,
                    "access_token": token,
                    "expires_in": server.lifetime,
                    "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                },
            )

        def do_GET(self) -> None:
            params = parse_qs(urlsplit(self.path).query)
            user, valid = self._basic_user()
            self._record(params, user)
            if self._fault():
                return
            if not valid:
                self._answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad login"}]})
                return
            self._issue(user, params)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            params = parse_qs(self.rfile.read(length).decode())
            path = urlsplit(self.path).path
            grant = params.get("grant_type", [""])[0]
            if path == "/oauth2/exchange":
                self._record(params, None)
                entra = params.get("access_token", [""])[0]
                if grant != "access_token" or not server.entra_token or entra != server.entra_token:
                    self._answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "entra"}]})
                    return
                refresh = secrets.token_urlsafe(24)
                server.refresh_tokens[refresh] = next(iter(server.users), "azure-user")
                self._answer(200, {"refresh_token": refresh})
                return
            user: str | None = None
            if grant == "refresh_token":
                user = server.refresh_tokens.get(params.get("refresh_token", [""])[0])
                self._record(params, user)
                if self._fault():
                    return
                if user is None:
                    self._answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "refresh"}]})
                    return
            elif grant == "password":
                user = params.get("username", [""])[0]
                self._record(params, user)
                known = server.users.get(user)
                if known is None or known[0] != params.get("password", [""])[0]:
                    self._answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "login"}]})
                    return
            else:
                self._record(params, None)
                self._answer(400, {"errors": [{"code": "UNSUPPORTED", "message": grant}]})
                return
            self._issue(user, params)

    return Handler
