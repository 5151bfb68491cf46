"""The least a Python process on ``http.client`` can do to copy an image within one registry.

A floor for ``copy_bench.py``'s "same registry" case, not a tool: the standard
library only (``http.client``, ``json``, ``threading``), plain HTTP. It pings
the registry (``GET /v2/``), reads the image manifest by tag, mounts the config
and every layer at once (one thread each, each on its own connection, no
``HEAD`` first), and puts the manifest under the destination's tag. It checks
nothing, retries nothing, handles no authentication and only one image
manifest. Whatever time it takes is what the interpreter, ``http.client`` and
the registry cost on this machine, below which no Python tool can go.

    python benchmarks/least_copy.py HOST/REPO:TAG HOST/OTHER-REPO:TAG
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from urllib.parse import urlencode  # http.client imports it anyway

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def _split(reference: str) -> tuple[str, str, str]:
    host, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    return host, repository, tag


def _ask(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, str]:
    connection.request(method, path, body=body, headers=headers or {})
    answer = connection.getresponse()
    return answer.status, answer.read(), answer.getheader("Content-Type") or ""


def main(source: str, destination: str) -> None:
    host, repository, tag = _split(source)
    dst_host, dst_repository, dst_tag = _split(destination)
    if dst_host != host:
        raise SystemExit("least_copy: source and destination must be in one registry")
    connection = http.client.HTTPConnection(host, timeout=30)
    status, _, _ = _ask(connection, "GET", "/v2/")
    if not 200 <= status < 300:
        raise SystemExit(f"least_copy: {host} does not answer /v2/: HTTP {status}")
    path = f"/v2/{repository}/manifests/{tag}"
    status, manifest, media_type = _ask(connection, "GET", path, headers={"Accept": ACCEPT})
    if not 200 <= status < 300:
        raise SystemExit(f"least_copy: {source}: HTTP {status}")
    doc = json.loads(manifest)
    digests = [doc["config"]["digest"], *(layer["digest"] for layer in doc["layers"])]
    failures: list[str] = []

    def mount(digest: str) -> None:
        own = http.client.HTTPConnection(host, timeout=30)  # http.client's are not thread-safe
        query = urlencode({"mount": digest, "from": repository})
        status, _, _ = _ask(own, "POST", f"/v2/{dst_repository}/blobs/uploads/?{query}")
        own.close()
        if status != 201:  # 202: the registry opened an upload session instead
            failures.append(f"{digest}: HTTP {status}")

    threads = [threading.Thread(target=mount, args=(d,)) for d in digests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"least_copy: a mount failed: {failures[0]}")
    path = f"/v2/{dst_repository}/manifests/{dst_tag}"
    status, _, _ = _ask(connection, "PUT", path, manifest, {"Content-Type": media_type})
    connection.close()
    if not 200 <= status < 300:
        raise SystemExit(f"least_copy: {destination}: HTTP {status}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
