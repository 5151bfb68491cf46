"""A registry that lies: each repository name is one lie no real registry tells on demand.

A small threaded server on 127.0.0.1 speaking just enough of the distribution
API (``/v2/``, manifests, blobs) for promoter to read from it. Every
repository serves an honest image (``honest``) except in one way:

| repository        | the lie                                                         |
|-------------------|-----------------------------------------------------------------|
| ``blob-digest``   | the layer's bytes do not match its digest                       |
| ``manifest-digest`` | the manifest by digest does not hash to that digest           |
| ``header-digest`` | a wrong ``Docker-Content-Digest`` on the manifest               |
| ``self-index``    | an index that lists itself (served under its own claimed digest) |
| ``deep-index``    | indexes nested ``DEEP`` levels down, each honest                 |
| ``wide-index``    | an index of ``WIDE`` entries (about 10 MB)                       |
| ``endless-200``   | a manifest body that never ends                                  |
| ``endless-500``   | a 500 whose body never ends                                      |
| ``huge-manifest`` | a 200 MB manifest, announced by Content-Length                   |
| ``redirect-loop`` | blob reads redirect to themselves, forever                       |
| ``short-body``    | bodies shorter than their Content-Length, then a closed socket    |
| ``slow-headers``  | the answer's headers at one byte a second                        |
| ``slow-manifest`` | the manifest body at one byte a second                           |
| ``slow-blob``     | the layer at one byte a second                                   |
| ``retry-after``   | 503 with ``Retry-After: 30`` on the manifest                     |
| ``echo-auth``     | errors whose message repeats the request's Authorization header  |
| ``command-message`` | a 403 whose message is ``message`` (CI service commands, say) |

With ``auth=True`` every request needs HTTP Basic auth (any credentials), so a
client sends its secret and ``echo-auth`` can repeat it. Requests are recorded.
"""

from __future__ import annotations

import hashlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["DEEP", "LIES", "WIDE", "HostileRegistry"]

DEEP = 10_000
WIDE = 100_000
LIES = (
    "blob-digest", "manifest-digest", "header-digest", "self-index", "deep-index",
    "wide-index", "endless-200", "endless-500", "huge-manifest", "redirect-loop",
    "short-body", "slow-headers", "slow-manifest", "slow-blob", "retry-after", "echo-auth",
)  # fmt: skip

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _dumps(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass
class _Content:
    """An honest image: config, one layer, manifest; and the documents of the index lies."""

    config: bytes = _dumps({"architecture": "amd64", "os": "linux", "config": {"User": "1000"}})
    layer: bytes = b"hostile registry layer " * 64
    manifests: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.manifest = _dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": _digest(self.config),
                    "size": len(self.config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": _digest(self.layer),
                        "size": len(self.layer),
                    }
                ],
            }
        )
        self.blobs = {_digest(self.config): self.config, _digest(self.layer): self.layer}

    def descriptor(self, raw: bytes, media_type: str) -> dict[str, object]:
        return {"mediaType": media_type, "digest": _digest(raw), "size": len(raw)}

    def deep_index(self) -> bytes:
        """``DEEP`` honest indexes, each listing the one below; the image at the bottom."""
        raw, media_type = self.manifest, OCI_MANIFEST
        for _ in range(DEEP):
            self.manifests[_digest(raw)] = raw
            raw = _dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [self.descriptor(raw, media_type)],
                }
            )
            media_type = OCI_INDEX
        self.manifests[_digest(raw)] = raw
        return raw

    def wide_index(self) -> bytes:
        entry = self.descriptor(self.manifest, OCI_MANIFEST)
        entries = [dict(entry, annotations={"n": str(i)}) for i in range(WIDE)]
        return _dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})


class HostileRegistry:
    """Serves the lies above until ``stop``; ``host`` is ``127.0.0.1:PORT``."""

    def __init__(self, *, auth: bool = False) -> None:
        self.auth = auth
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, Authorization
        self.content = _Content()
        #: What ``command-message`` says in its error (kept out of ``LIES``: not a lie of
        #: the transfer, a hostile text for the CI boundary tests).
        self.message = "denied"
        self._deep = self.content.deep_index()
        self._wide = self.content.wide_index()
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> HostileRegistry:
        registry = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                registry._serve(self.connection, self.rfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileRegistry:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- one connection ---------------------------------------------------------------
    def _serve(self, sock: socket.socket, rfile: object) -> None:
        try:
            while self._one(sock, rfile):
                pass
        except (OSError, ValueError):
            return

    def _one(self, sock: socket.socket, rfile: object) -> bool:
        line = rfile.peek(1)[:1]  # type: ignore[attr-defined]
        if line == b"\x16":
            # A TLS handshake (the client's probe of a loopback host): a plain HTTP
            # server answers 400 and closes, which tells the client to speak HTTP.
            sock.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return False
        line = rfile.readline(65536)  # type: ignore[attr-defined]
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            header = rfile.readline(65536).decode("latin-1")  # type: ignore[attr-defined]
            if header in ("\r\n", "\n", ""):
                break
            name, _, value = header.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if length:
            rfile.read(length)  # type: ignore[attr-defined]
        authorization = headers.get("authorization")
        with self._lock:
            self.requests.append((method, target, authorization))
        return self._answer(sock, method, target.split("?", 1)[0], authorization)

    def _answer(
        self, sock: socket.socket, method: str, path: str, authorization: str | None
    ) -> bool:
        if self.auth and not authorization:
            return _send(sock, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"log in"}]}',
                         {"WWW-Authenticate": 'Basic realm="hostile"'})  # fmt: skip
        if path in ("/v2/", "/v2"):
            return _send(sock, 200, b"{}")
        parts = path.strip("/").split("/")
        if len(parts) < 4 or parts[0] != "v2":
            return _send(sock, 404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"?"}]}')
        repository, kind, ref = "/".join(parts[1:-2]), parts[-2], parts[-1]
        lie = repository.rsplit("/", 1)[-1]
        if lie == "echo-auth":
            message = f"denied: the request carried {authorization}"
            body = _dumps(
                {"errors": [{"code": "DENIED", "message": message, "detail": authorization}]}
            )
            return _send(sock, 403, body, {"X-Echo": authorization or ""})
        if lie == "command-message":
            errors = [{"code": "DENIED", "message": self.message, "detail": self.message}]
            return _send(sock, 403, _dumps({"errors": errors}))
        if kind == "manifests":
            return self._manifest(sock, method, lie, ref)
        if kind == "blobs":
            return self._blob(sock, method, lie, ref)
        return _send(sock, 404, b"{}")

    def _manifest(self, sock: socket.socket, method: str, lie: str, ref: str) -> bool:
        content = self.content
        raw, media_type = content.manifest, OCI_MANIFEST
        headers = {"Content-Type": media_type, "Docker-Content-Digest": _digest(raw)}
        if lie == "manifest-digest" and ref.startswith("sha256:"):
            raw = raw.replace(b'"schemaVersion":2', b'"schemaVersion": 2')
        elif lie == "header-digest":
            headers["Docker-Content-Digest"] = "sha256:" + "0" * 64
        elif lie == "self-index":
            claimed = "sha256:" + "5e1f" * 16
            raw = _dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                          "manifests": [{"mediaType": OCI_INDEX, "digest": claimed, "size": 200}]})  # fmt: skip
            headers = {"Content-Type": OCI_INDEX, "Docker-Content-Digest": claimed}
        elif lie == "deep-index":
            raw = content.manifests.get(ref, self._deep)
            media_type = OCI_INDEX if b'"manifests"' in raw else OCI_MANIFEST
            headers = {"Content-Type": media_type, "Docker-Content-Digest": _digest(raw)}
        elif lie == "wide-index":
            raw = self._wide if not ref.startswith("sha256:") or ref == _digest(self._wide) else raw
            if raw is self._wide:
                headers = {"Content-Type": OCI_INDEX, "Docker-Content-Digest": _digest(raw)}
        elif lie == "endless-200":
            return _endless(sock, 200, headers)
        elif lie == "endless-500":
            return _endless(sock, 500, {"Content-Type": "application/json"})
        elif lie == "huge-manifest":
            return _huge(sock, method, 200 * 1024 * 1024, headers)
        elif lie == "short-body":
            return _short(sock, raw, headers)
        elif lie == "slow-headers":
            return _slow(sock, _head(200, len(raw), headers) + (raw if method != "HEAD" else b""))
        elif lie == "slow-manifest":
            return _slow(sock, raw, method, head=_head(200, len(raw), headers))
        elif lie == "retry-after":
            return _send(sock, 503, b'{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}',
                         {"Retry-After": "30"})  # fmt: skip
        return _send(sock, 200, raw if method != "HEAD" else b"", headers, length=len(raw))

    def _blob(self, sock: socket.socket, method: str, lie: str, digest: str) -> bool:
        data = self.content.blobs.get(digest)
        if data is None:
            return _send(sock, 404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"no"}]}')
        headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest}
        is_layer = digest == _digest(self.content.layer)
        if lie == "blob-digest" and is_layer:
            data = data[::-1]
        elif lie == "redirect-loop":
            return _send(sock, 307, b"", {"Location": f"/v2/lie/redirect-loop/blobs/{digest}"})
        elif lie == "short-body":
            return _short(sock, data, headers)
        elif lie == "slow-blob" and is_layer:
            return _slow(sock, data, method, head=_head(200, len(data), headers))
        return _send(sock, 200, data if method != "HEAD" else b"", headers, length=len(data))


def _head(status: int, length: int | None, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _send(
    sock: socket.socket, status: int, body: bytes, headers: dict[str, str] | None = None,
    *, length: int | None = None,
) -> bool:  # fmt: skip
    sock.sendall(_head(status, len(body) if length is None else length, headers or {}) + body)
    return True


def _endless(sock: socket.socket, status: int, headers: dict[str, str]) -> bool:
    sock.sendall(_head(status, None, headers))
    chunk = b"x" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    deadline = time.monotonic() + 600  # bounded: it stops by itself
    while time.monotonic() < deadline:
        sock.sendall(framed)
    return False


def _huge(sock: socket.socket, method: str, size: int, headers: dict[str, str]) -> bool:
    sock.sendall(_head(200, size, headers))
    if method == "HEAD":
        return True
    chunk = b" " * 65536
    for _ in range(size // len(chunk)):
        sock.sendall(chunk)
    return False


def _short(sock: socket.socket, data: bytes, headers: dict[str, str]) -> bool:
    sock.sendall(_head(200, len(data), headers) + data[: len(data) // 2])
    return False  # and close


def _slow(sock: socket.socket, data: bytes, method: str = "GET", head: bytes = b"") -> bool:
    if head:
        sock.sendall(head)
        if method == "HEAD":
            return True
    deadline = time.monotonic() + 600
    for byte in _bytes(data):
        if time.monotonic() > deadline:
            break
        sock.sendall(byte)
        time.sleep(1.0)
    return False


def _bytes(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]
