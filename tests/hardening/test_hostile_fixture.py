"""The hostile registry tells each lie it says it tells (an outside reader: httpx)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.hostile_registry import DEEP, WIDE, HostileRegistry

ACCEPT = {
    "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
}


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileRegistry]:
    with HostileRegistry() as registry:
        yield registry


def _get(registry: HostileRegistry, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(f"http://{registry.host}{path}", headers=ACCEPT, timeout=5, **kwargs)  # type: ignore[arg-type]


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_honest_image(hostile: HostileRegistry) -> None:
    answer = _get(hostile, "/v2/lie/honest/manifests/latest")
    assert answer.headers["Docker-Content-Digest"] == _sha(answer.content)
    layer = json.loads(answer.content)["layers"][0]["digest"]
    assert _sha(_get(hostile, f"/v2/lie/honest/blobs/{layer}").content) == layer


def test_digest_lies(hostile: HostileRegistry) -> None:
    layer = json.loads(_get(hostile, "/v2/lie/honest/manifests/latest").content)["layers"][0][
        "digest"
    ]
    assert _sha(_get(hostile, f"/v2/lie/blob-digest/blobs/{layer}").content) != layer
    honest = _get(hostile, "/v2/lie/honest/manifests/latest")
    digest = honest.headers["Docker-Content-Digest"]
    assert _sha(_get(hostile, f"/v2/lie/manifest-digest/manifests/{digest}").content) != digest
    wrong = _get(hostile, "/v2/lie/header-digest/manifests/latest")
    assert wrong.headers["Docker-Content-Digest"] != _sha(wrong.content)
    index = _get(hostile, "/v2/lie/self-index/manifests/latest")
    assert (
        json.loads(index.content)["manifests"][0]["digest"]
        == index.headers["Docker-Content-Digest"]
    )


def test_shapes(hostile: HostileRegistry) -> None:
    deep = _get(hostile, "/v2/lie/deep-index/manifests/latest")
    assert deep.headers["Content-Type"].endswith("index.v1+json")
    below = json.loads(deep.content)["manifests"][0]["digest"]
    assert _sha(_get(hostile, f"/v2/lie/deep-index/manifests/{below}").content) == below
    assert DEEP >= 10_000
    wide = _get(hostile, "/v2/lie/wide-index/manifests/latest")
    assert len(json.loads(wide.content)["manifests"]) == WIDE
    huge = httpx.head(f"http://{hostile.host}/v2/lie/huge-manifest/manifests/latest", timeout=5)
    assert int(huge.headers["Content-Length"]) == 200 * 1024 * 1024


def test_faults(hostile: HostileRegistry) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        _get(hostile, "/v2/lie/short-body/manifests/latest")
    answer = _get(hostile, "/v2/lie/retry-after/manifests/latest")
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "30")
    redirect = _get(hostile, "/v2/lie/redirect-loop/blobs/sha256:" + "0" * 64)
    assert redirect.status_code == 404  # unknown blob; a known one loops:
    layer = json.loads(_get(hostile, "/v2/lie/honest/manifests/latest").content)["layers"][0][
        "digest"
    ]
    with pytest.raises(httpx.TooManyRedirects):
        httpx.get(
            f"http://{hostile.host}/v2/lie/redirect-loop/blobs/{layer}",
            follow_redirects=True,
            timeout=5,
        )
    with httpx.stream(
        "GET", f"http://{hostile.host}/v2/lie/endless-500/manifests/x", timeout=5
    ) as endless:
        assert endless.status_code == 500
        received = 0
        for chunk in endless.iter_raw():
            received += len(chunk)
            if received > 4 * 1024 * 1024:
                break
        assert received > 4 * 1024 * 1024
    # A trickle: no read ever waits long enough for a read timeout to end it.
    started, received = time.monotonic(), b""
    url = f"http://{hostile.host}/v2/lie/slow-manifest/manifests/latest"
    with httpx.stream("GET", url, timeout=2.5) as slow:
        for chunk in slow.iter_raw(1):
            received += chunk
            if time.monotonic() - started > 3.5:
                break
    assert 2 <= len(received) <= 6


def test_echo_needs_and_repeats_credentials() -> None:
    with HostileRegistry(auth=True) as hostile:
        assert httpx.get(f"http://{hostile.host}/v2/", timeout=5).status_code == 401
        answer = httpx.get(
            f"http://{hostile.host}/v2/lie/echo-auth/manifests/latest",
            auth=("robot", "s3cret-for-echo"),
            timeout=5,
        )
        assert answer.status_code == 403
        assert "Basic " in answer.json()["errors"][0]["message"]
