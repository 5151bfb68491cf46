"""The least a Python process does to read promoted images from registries at a pace.

A floor for ``scale_bench.py``'s rate-limited case, not a tool: the standard
library only (``http.client`` and threads, no httpx, no promoter). For each
HOST, ``--threads`` threads, each with one keep-alive connection, take the
next image name in turn and read it as a promotion looks at it: GET the
manifest by tag, GET its config blob, HEAD each layer. With ``--rate``, each
host's requests are spaced evenly at that rate (a turn is reserved under a
lock and slept for outside it); a 429 makes the thread wait its
``Retry-After`` and send again. It checks nothing else and stops once each
host has been sent ``--requests`` requests, then prints one JSON document.

    python benchmarks/rate_floor.py --names FILE --requests 6900 [--rate 190] HOST...
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import sys
import threading
import time
from collections.abc import Iterator, Sequence

ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


class Host:
    """One registry: its request budget, its pace and what it answered."""

    def __init__(self, host: str, names: Sequence[str], requests: int, rate: float | None) -> None:
        self.host = host
        self.gap = 1.0 / rate if rate else 0.0
        self.left = requests
        self.refused = 0
        self.reconnects = 0
        self.failure: str | None = None
        self._next_turn = 0.0
        self._lock = threading.Lock()
        self._names: Iterator[str] = itertools.cycle(names)

    def next_name(self) -> str:
        with self._lock:
            return next(self._names)

    def noted(self, what: str) -> None:
        """Count one 429 (``refused``) or one dropped connection (``reconnects``)."""
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    def fail(self, failure: str) -> None:
        """Stop every thread of this host, saying why."""
        with self._lock:
            self.failure = self.failure or failure
            self.left = 0

    def turn(self) -> bool:
        """Take one request of the budget and wait for its turn; False when none is left."""
        with self._lock:
            if self.left <= 0:
                return False
            self.left -= 1
            now = time.monotonic()
            at = max(now, self._next_turn)
            self._next_turn = at + self.gap
        if at > now:
            time.sleep(at - now)
        return True


def send(
    conn: http.client.HTTPConnection, host: Host, method: str, path: str, accept: str = "*/*"
) -> bytes | None:
    """One request (again after a 429 or a dropped connection); its body, or None when the
    host's budget is spent."""
    while host.turn():
        try:
            conn.request(method, path, headers={"Accept": accept})
            response = conn.getresponse()
            body = response.read()
        except (http.client.HTTPException, OSError):
            conn.close()  # the next request opens a new connection
            host.noted("reconnects")
            continue
        if response.status == 429:
            host.noted("refused")
            time.sleep(float(response.getheader("Retry-After") or 1))
            continue
        if response.status >= 400:
            host.fail(f"{method} {host.host}{path}: HTTP {response.status}")
            return None
        return body
    return None


def reader(host: Host, tag: str) -> None:
    conn = http.client.HTTPConnection(host.host, timeout=60)
    try:
        while True:
            name = host.next_name()
            manifest = send(conn, host, "GET", f"/v2/{name}/manifests/{tag}", ACCEPT)
            if manifest is None:
                return
            doc = json.loads(manifest)
            if send(conn, host, "GET", f"/v2/{name}/blobs/{doc['config']['digest']}") is None:
                return
            for layer in doc["layers"]:
                if send(conn, host, "HEAD", f"/v2/{name}/blobs/{layer['digest']}") is None:
                    return
    finally:
        conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hosts", nargs="+", metavar="HOST", help="host:port, plain HTTP")
    parser.add_argument("--names", required=True, help="a file of repository names, one a line")
    parser.add_argument("--tag", default="v1")
    parser.add_argument("--requests", type=int, required=True, help="requests per host")
    parser.add_argument(
        "--rate", type=float, help="requests per second per host (default: unpaced)"
    )
    parser.add_argument("--threads", type=int, default=8, help="connections per host")
    options = parser.parse_args(argv)
    with open(options.names) as file:
        names = [line.strip() for line in file if line.strip()]
    hosts = [Host(h, names, options.requests, options.rate) for h in options.hosts]
    threads = [
        threading.Thread(target=reader, args=(host, options.tag))
        for host in hosts
        for _ in range(options.threads)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    failures = [h.failure for h in hosts if h.failure]
    if failures:
        print(f"rate_floor: {failures[0]}", file=sys.stderr)
        return 3
    doc = {
        "seconds": round(seconds, 3),
        "hosts": {h.host: {"refused": h.refused, "reconnects": h.reconnects} for h in hosts},
    }
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
