"""The trust roots a registry's TLS is verified against: loaded once, early, shared.

The roots are ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's (as
most HTTP clients choose them), plus the registry's own CA file from pipeline.yml and
``--ca-file``. Loading them costs tens of milliseconds, which each registry
client of a run used to pay again; a thread starts on it as soon as a
transport is made, so that it overlaps with the imports and the first ping.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import threading
from collections.abc import Iterable

from promoter.errors import InputError

__all__ = ["TrustKey", "TrustRoots", "trust_key"]

#: What a verifying TLS context is made of: the CA files, SSL_CERT_FILE, SSL_CERT_DIR.
TrustKey = tuple[tuple[str, ...], str | None, str | None]


def trust_key(
    ca_files: Iterable[str | None],
    *,
    loopback: bool,
    cert_file: str | None = None,
    cert_dir: str | None = None,
) -> TrustKey:
    """The roots a host is verified against: its own and the run's CA files (in that
    order, each once), plus the environment's roots (``SSL_CERT_FILE``/``SSL_CERT_DIR``,
    as the run's settings give them) unless the host is ``loopback``."""
    files = tuple(dict.fromkeys(f for f in ca_files if f))
    if loopback:
        return (files, None, None)
    return (files, cert_file, cert_dir)


@functools.lru_cache(maxsize=8)
def _trust_context(
    ca_files: tuple[str, ...], cert_file: str | None, cert_dir: str | None
) -> ssl.SSLContext:
    """The verifying TLS context, built once per process and key, shared by clients."""
    if cert_file:
        context = ssl.create_default_context(cafile=cert_file)
    elif cert_dir:
        context = ssl.create_default_context(capath=cert_dir)
    else:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    for ca_file in ca_files:
        context.load_verify_locations(cafile=ca_file)
    return context


class TrustRoots:
    """Verifying TLS contexts, each loaded once and early, on a thread of its own.

    One belongs to each ``RegistryOptions`` (one per run), so every transport of
    a run shares its loads and no table of threads outlives the run. OpenSSL
    parses a bundle without holding the GIL, so the tens of milliseconds it takes
    overlap with the rest of the start and the first ping. The threads are not daemons:
    the interpreter must not be torn down while OpenSSL is still parsing (a
    process that ends first waits for it, tens of ms).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loading: dict[TrustKey, threading.Thread] = {}

    def load_early(self, key: TrustKey) -> None:
        """Start loading ``key``'s roots on another thread (once per key).

        A failure is left for ``context`` to raise in the caller's thread.
        """
        with self._lock:
            if key in self._loading:
                return
            thread = threading.Thread(target=_load_quietly, args=key, name="promoter-trust-roots")
            self._loading[key] = thread
        thread.start()

    def context(self, key: TrustKey) -> ssl.SSLContext:
        """The verifying TLS context of ``key`` (waits for its early load, if one runs)."""
        with self._lock:
            thread = self._loading.get(key)
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        try:
            return _trust_context(*key)
        except (OSError, ssl.SSLError) as error:
            bundles = ", ".join(key[0]) or "(the default roots)"
            raise InputError(f"cannot load CA bundle {bundles}: {error}") from None


def _load_quietly(ca_files: tuple[str, ...], cert_file: str | None, cert_dir: str | None) -> None:
    # A failure is raised again, with a clear message, where the context is needed.
    with contextlib.suppress(OSError, ssl.SSLError):
        _trust_context(ca_files, cert_file, cert_dir)
