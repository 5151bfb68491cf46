"""The least a Python process on httpx can do to copy an image within one registry.

A floor for ``copy_bench.py``'s "same registry" case, not a tool: it imports
httpx and nothing else, pings the registry, reads the image manifest by tag,
mounts the config and every layer at once (one thread each, no HEAD first),
and puts the manifest under the same tag. It checks nothing, retries nothing
and handles only one image manifest on a plain-HTTP registry. Whatever time it
takes is what the interpreter, httpx and the registry cost on this machine,
below which no Python tool on httpx can go.

    python benchmarks/least_copy.py HOST/REPO:TAG HOST/OTHER-REPO:TAG
"""

from __future__ import annotations

import json
import sys
import threading

sys.modules["httpx._main"] = None  # type: ignore[assignment]  # httpx's own CLI: rich, pygments

import httpx  # noqa: E402

ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


def main(source: str, destination: str) -> None:
    host, _, rest = source.partition("/")
    repository, _, tag = rest.rpartition(":")
    dst_host, _, dst_rest = destination.partition("/")
    dst_repository, _, dst_tag = dst_rest.rpartition(":")
    if dst_host != host:
        raise SystemExit("least_copy: source and destination must be in one registry")
    with httpx.Client(base_url=f"http://{host}") as client:
        client.get("/v2/").raise_for_status()
        manifest = client.get(f"/v2/{repository}/manifests/{tag}", headers={"Accept": ACCEPT})
        manifest.raise_for_status()
        doc = json.loads(manifest.content)
        digests = [doc["config"]["digest"], *(layer["digest"] for layer in doc["layers"])]
        failures: list[str] = []

        def mount(digest: str) -> None:
            answer = client.post(
                f"/v2/{dst_repository}/blobs/uploads/",
                params={"mount": digest, "from": repository},
            )
            if answer.status_code != 201:
                failures.append(f"{digest}: HTTP {answer.status_code}")

        threads = [threading.Thread(target=mount, args=(d,)) for d in digests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise SystemExit(f"least_copy: a mount failed: {failures[0]}")
        client.put(
            f"/v2/{dst_repository}/manifests/{dst_tag}",
            content=manifest.content,
            headers={"Content-Type": manifest.headers["Content-Type"]},
        ).raise_for_status()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
