"""Real ``distribution`` registries for the tests: Debian's ``docker-registry``.

``start_registry`` writes a config YAML into a temporary folder, starts
``/usr/bin/docker-registry serve CONFIG`` on a free loopback port and waits
until ``/v2/`` answers (any HTTP status: 401 means "up, wants auth").
TLS (``tls=(cert_pem_path, key_pem_path)``), htpasswd auth and token auth are
options of the same function so every test area starts registries one way.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

__all__ = [
    "REGISTRY_BINARY",
    "Logged",
    "Registry",
    "TokenAuthConfig",
    "free_port",
    "registry_missing_reason",
    "start_registry",
]

REGISTRY_BINARY = os.environ.get("PROMOTER_TEST_REGISTRY_BINARY", "/usr/bin/docker-registry")


def registry_missing_reason() -> str | None:
    """Why a registry cannot be started here, or None when it can."""
    usable = os.path.isfile(REGISTRY_BINARY) and os.access(REGISTRY_BINARY, os.X_OK)
    if not usable and shutil.which("docker-registry") is None:
        return f"{REGISTRY_BINARY} not found (Debian package docker-registry)"
    return None


def _binary() -> str:
    if os.path.isfile(REGISTRY_BINARY):
        return REGISTRY_BINARY
    found = shutil.which("docker-registry")
    assert found is not None
    return found


def free_port(ipv6: bool = False) -> int:
    """A TCP port on 127.0.0.1 (or ::1) that nobody listens on right now."""
    family, address = (socket.AF_INET6, "::1") if ipv6 else (socket.AF_INET, "127.0.0.1")
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


#: One access-log line (combined log format): the request line and the status.
_ACCESS = re.compile(r'^\S+ \S+ \S+ \[[^]]*\] "(\S+) (\S+) [^"]*" (\d{3}) ')


@dataclass(frozen=True)
class Logged:
    """One request as the registry's access log has it."""

    method: str
    path: str
    query: dict[str, str]
    status: int

    @property
    def uploaded(self) -> str | None:
        """The digest a committed upload stored (``PUT ...?digest=``, 201), else None."""
        if self.method == "PUT" and self.status == 201 and "/blobs/uploads/" in self.path:
            return self.query.get("digest")
        return None

    @property
    def mounted(self) -> str | None:
        """The digest a mount linked (``POST ...?mount=&from=``, 201), else None."""
        if self.method == "POST" and self.status == 201:
            return self.query.get("mount")
        return None

    @property
    def declined(self) -> str | None:
        """The digest of a mount the registry declined (202: an upload session), else None."""
        if self.method == "POST" and self.status == 202:
            return self.query.get("mount")
        return None


@dataclass(frozen=True)
class TokenAuthConfig:
    """distribution's ``auth: token`` settings: the token server and its signing cert."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: str


@dataclass
class Registry:
    """A running registry process on a loopback port."""

    host: str
    root: Path
    config_path: Path
    tls: bool = False
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` or ``https://...`` when TLS is on."""
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    @property
    def storage(self) -> Path:
        """The filesystem storage root (blobs live under docker/registry/v2/blobs)."""
        return self.root / "storage"

    def start(self, timeout: float = 20.0) -> None:
        """Start (or restart) the process and wait until /v2/ answers."""
        assert self.log_path is not None
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.process = subprocess.Popen(
                [_binary(), "serve", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"docker-registry exited with {self.process.returncode}: "
                    + self.log_path.read_text(errors="replace")[-2000:]
                )
            try:
                with urllib.request.urlopen(
                    f"{self.url}/v2/", timeout=1, context=context if self.tls else None
                ):
                    return
            except urllib.error.HTTPError:
                return  # 401 and friends: it is up
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry on {self.host} did not answer /v2/ in {timeout}s")

    def stop(self) -> None:
        """Kill the process (idempotent)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same storage."""
        self.stop()
        self.start()

    def requests(self) -> list[Logged]:
        """Every request in the access log so far (``start_registry(access_log=True)``)."""
        assert self.log_path is not None
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            match = _ACCESS.match(line)
            if match is None:
                continue
            url = urlsplit(match[2])
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            found.append(Logged(match[1], url.path, query, int(match[3])))
        return found

    def blob_count(self) -> int:
        """How many distinct blobs the storage holds (to assert what moved)."""
        blobs = self.storage / "docker" / "registry" / "v2" / "blobs"
        if not blobs.exists():
            return 0
        return sum(1 for p in blobs.rglob("data") if p.is_file())


def _config(
    root: Path,
    host: str,
    *,
    tls: tuple[str, str] | None,
    htpasswd: str | None,
    token: TokenAuthConfig | None,
    access_log: bool = False,
    deletes: bool = True,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": not access_log}},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "storage")},
            "delete": {"enabled": deletes},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": host, "secret": "test-only-http-secret"},
    }
    if tls is not None:
        config["http"]["tls"] = {"certificate": tls[0], "key": tls[1]}
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "promoter-test", "path": htpasswd}}
    elif token is not None:
        config["auth"] = {
            "token": {
                "realm": token.realm,
                "service": token.service,
                "issuer": token.issuer,
                "rootcertbundle": token.rootcertbundle,
            }
        }
    return config


def start_registry(
    root: Path,
    *,
    tls: tuple[str, str] | None = None,
    htpasswd: str | None = None,
    token: TokenAuthConfig | None = None,
    ipv6: bool = False,
    attempts: int = 3,
    access_log: bool = False,
    deletes: bool = True,
) -> Registry:
    """Write a config under ``root`` and start a registry on a free loopback port.

    ``tls`` is ``(certificate_pem_path, key_pem_path)``; ``htpasswd`` a path to a
    bcrypt htpasswd file; ``token`` distribution's token-auth settings; ``ipv6``
    listens on ``[::1]`` instead of 127.0.0.1; ``access_log`` writes a line per
    request to ``log_path`` (read back with ``Registry.requests``); ``deletes=False``
    starts it as distribution ships, refusing deletes (405 UNSUPPORTED).
    """
    root.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for _ in range(attempts):  # a free port may be taken between probe and bind
        host = f"[::1]:{free_port(True)}" if ipv6 else f"127.0.0.1:{free_port()}"
        config_path = root / "config.yml"
        config_path.write_text(
            yaml.safe_dump(
                _config(
                    root,
                    host,
                    tls=tls,
                    htpasswd=htpasswd,
                    token=token,
                    access_log=access_log,
                    deletes=deletes,
                )
            )
        )
        registry = Registry(
            host=host,
            root=root,
            config_path=config_path,
            tls=tls is not None,
            log_path=root / "registry.log",
        )
        try:
            registry.start()
            return registry
        except RuntimeError as error:
            last = error
    raise RuntimeError(f"could not start docker-registry: {last}")
