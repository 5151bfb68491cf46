"""TLS material and htpasswd files for registries started by the tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HTPASSWD_PASSWORD", "HTPASSWD_USER", "TlsFiles", "make_tls", "write_htpasswd"]

#: The login of the htpasswd registries (``tests/registry/conftest.py``); random per run.
HTPASSWD_USER = "alice"
HTPASSWD_PASSWORD = "pw-" + secrets.token_hex(12)


@dataclass(frozen=True)
class TlsFiles:
    """A test CA (``ca``: PEM to trust) and a server certificate for loopback names."""

    ca: str
    certificate: str
    key: str

    @property
    def server(self) -> tuple[str, str]:
        """``(certificate, key)`` as ``start_registry(tls=...)`` takes them."""
        return (self.certificate, self.key)


def make_tls(directory: Path) -> TlsFiles:
    """A fresh CA and a certificate for 127.0.0.1, ::1 and localhost (trustme)."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "::1", "localhost")
    ca_path = directory / "ca.pem"
    cert_path = directory / "server.pem"
    key_path = directory / "server.key"
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_pem.write_to_path(str(key_path))
    with open(cert_path, "wb") as handle:
        for blob in cert.cert_chain_pems:
            handle.write(blob.bytes())
    return TlsFiles(str(ca_path), str(cert_path), str(key_path))


def write_htpasswd(path: Path, users: dict[str, str]) -> str:
    """An htpasswd file with bcrypt hashes (the only kind distribution accepts)."""
    import bcrypt

    lines = [
        f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}"
        for user, password in users.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)
