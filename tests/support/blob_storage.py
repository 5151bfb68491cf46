"""A stand-in for the object storage a registry redirects blob reads to (ACR's
Azure Blob Storage, ECR's S3, a CDN): HTTP or HTTPS on 127.0.0.1, no auth.

It serves ``GET /<anything>/<digest>[?query]`` from the blobs it was given,
honours ``Range: bytes=N-`` as storage does, and records each request's path
and headers, so a test can check that no registry credential reached it.
"""

from __future__ import annotations

import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["BlobStorage", "StorageRequest"]

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class StorageRequest:
    """One request the storage answered."""

    path: str
    digest: str | None
    headers: Mapping[str, str]
    status: int


@dataclass
class BlobStorage:
    """Serves ``blobs`` (digest -> bytes) until ``stop``; ``url`` once started."""

    blobs: Mapping[str, bytes]
    tls: tuple[str, str] | None = None  # (certificate, key): serve HTTPS, as storage does
    requests: list[StorageRequest] = field(default_factory=list)

    def start(self) -> BlobStorage:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> BlobStorage:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def served(self, digest: str) -> list[StorageRequest]:
        """The requests that asked for ``digest``."""
        return [r for r in self.requests if r.digest == digest]


def _handler(storage: BlobStorage) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def do_GET(self) -> None:
            found = _DIGEST.search(self.path)
            digest = found.group(0) if found else None
            data = storage.blobs.get(digest or "")
            start = 0
            ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if data is not None and ranged:
                start = int(ranged.group(1))
            status = 404 if data is None else (206 if ranged else 200)
            headers = {k.lower(): v for k, v in self.headers.items()}
            storage.requests.append(StorageRequest(self.path, digest, headers, status))
            body = b"" if data is None else data[start:]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            if status == 206 and data is not None:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            self.wfile.write(body)

    return Handler
