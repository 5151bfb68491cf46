"""``Registries``: one shared client per registry host for a whole run."""

from __future__ import annotations

import threading

from promoter.registry.access.options import RegistryOptions, normalize_host
from promoter.registry.remote.client import RegistryClient

__all__ = ["Registries"]


class Registries:
    """Hands out one ``RegistryClient`` per host (connection pool and token cache reused)."""

    def __init__(self, options: RegistryOptions | None = None) -> None:
        self.options = options or RegistryOptions()
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()

    def client(self, host: str) -> RegistryClient:
        """The client of ``host`` (``HOST[:PORT]``), created on first use."""
        key = normalize_host(host)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = RegistryClient(key, self.options)
                self._clients[key] = client
            return client

    def close(self) -> None:
        """Close every client's connections."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> Registries:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
