"""The least process that makes the requests of ``promoter copy`` with nothing to do.

A floor for ``rerun_bench.py``, not a tool: the standard library only
(``http.client``, ``hashlib``), plain HTTP, one keep-alive connection per
registry. It makes the four requests promoter makes when the destination
already holds the image: the ping of the source (``GET /v2/``), the source's
manifest by tag, the ping of the destination, and a ``HEAD`` of the
destination's tag; then it compares the destination's digest with the digest
of the bytes it read. It checks nothing else, retries nothing and handles no
authentication. Exit 0: the destination is up to date; 1: it is not.

With ``--probe-tls`` it first offers each host a TLS handshake that verifies
nothing, and speaks plain HTTP to a host that does not answer it: what
``--insecure-registry`` (promoter) and ``--tls-verify=false`` (skopeo) ask of a
registry, and what both do before their first request. The four requests stay
the same.

With ``--tuned`` it starts as the ``promoter`` process now does (issue #24, round 4):
the cycle collector's young threshold at 50,000 before the imports
(``promoter.cli.entry``), and host names given to the resolver and TLS as ASCII
bytes, so the ``idna`` codec is never imported (``promoter.registry.transport.http1``).
A floor with promoter's own start-up savings, shown beside the plain one.

    python benchmarks/least_rerun.py [--probe-tls] [--tuned] SRC-HOST/REPO:TAG DST-HOST/REPO:TAG
"""

from __future__ import annotations

import gc
import sys

TUNED = __name__ == "__main__" and "--tuned" in sys.argv
if TUNED:  # before the imports below, as promoter.cli.entry does
    gc.set_threshold(50_000, *gc.get_threshold()[1:])

import hashlib  # noqa: E402  (after the collector's setting)
import http.client  # noqa: E402
import socket  # noqa: E402

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def _split(reference: str) -> tuple[str, str, str]:
    host, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    return host, repository, tag


def _ask(connection: http.client.HTTPConnection, method: str, path: str) -> tuple[int, bytes, str]:
    connection.request(method, path, headers={"Accept": ACCEPT})
    answer = connection.getresponse()
    body = answer.read()
    return answer.status, body, answer.getheader("Docker-Content-Digest") or ""


def _name(host: str) -> str | bytes:
    """The host name as the resolver and TLS are given it (bytes when ``--tuned``)."""
    return host.encode("ascii") if TUNED else host


def _connect(address: tuple[str, int], timeout: float, source: object = None) -> socket.socket:
    return socket.create_connection((_name(address[0]), address[1]), timeout)  # type: ignore[arg-type]


def _connection(host: str) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection(host, timeout=30)
    connection._create_connection = _connect  # type: ignore[attr-defined]
    return connection


def _speaks_tls(host: str) -> bool:
    """Whether ``host`` completes a TLS handshake (one that verifies nothing)."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    name, _, port = host.rpartition(":")
    with socket.create_connection((_name(name), int(port)), timeout=30) as raw:  # type: ignore[arg-type]
        try:
            context.wrap_socket(raw, server_hostname=_name(name)).close()
        except ssl.SSLError:
            return False
    return True


def main(source: str, destination: str, probe_tls: bool = False) -> int:
    src_host, src_repo, src_tag = _split(source)
    dst_host, dst_repo, dst_tag = _split(destination)
    for host in (src_host, dst_host) if probe_tls else ():
        if _speaks_tls(host):
            raise SystemExit(f"least_rerun: {host} speaks TLS; this floor speaks plain HTTP only")
    src = _connection(src_host)
    dst = _connection(dst_host)
    if _ask(src, "GET", "/v2/")[0] != 200:
        raise SystemExit(f"least_rerun: {src_host} does not answer /v2/")
    status, manifest, _ = _ask(src, "GET", f"/v2/{src_repo}/manifests/{src_tag}")
    if status != 200:
        raise SystemExit(f"least_rerun: {source}: HTTP {status}")
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    if _ask(dst, "GET", "/v2/")[0] != 200:
        raise SystemExit(f"least_rerun: {dst_host} does not answer /v2/")
    status, _, present = _ask(dst, "HEAD", f"/v2/{dst_repo}/manifests/{dst_tag}")
    src.close()
    dst.close()
    return 0 if status == 200 and present == digest else 1


if __name__ == "__main__":
    arguments = [word for word in sys.argv[1:] if word not in ("--probe-tls", "--tuned")]
    sys.exit(main(arguments[0], arguments[1], probe_tls="--probe-tls" in sys.argv))
