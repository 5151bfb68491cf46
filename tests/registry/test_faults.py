"""Faults: what a real registry answers badly on demand, and what the seam injects."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from promoter.errors import InputError, NetworkError, RegistryError
from promoter.oci import DigestMismatchError, Reference, compute_digest
from promoter.oci import mediatypes as mt
from promoter.registry import RegistryClient, RegistryOptions, RetryPolicy
from tests.support.fault_transport import FaultTransport, Rule
from tests.support.images import make_image, push_http, random_bytes
from tests.support.registry import Registry

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, total_time=10)


def _client(
    registry: Registry, *rules: Rule, **options: object
) -> tuple[RegistryClient, FaultTransport]:
    seam = FaultTransport(list(rules))
    settings = {"retry": FAST, **options}
    client = RegistryClient(registry.host, RegistryOptions(transport=seam, **settings))  # type: ignore[arg-type]
    return client, seam


@pytest.fixture(scope="module")
def pushed(registry: Registry) -> dict[str, str]:
    image = make_image(seed="faults", layer_sizes=(150_000,))
    push_http(image, registry.url, "faults/app", "v1")
    layer = image.layer_digests[0]
    return {"digest": image.digest, "layer": layer, "raw": image.manifest_bytes.decode("latin-1")}


def test_registry_error_body_is_parsed(registry: Registry) -> None:
    client, _ = _client(registry)
    with client, pytest.raises(RegistryError) as caught:
        client.get_manifest(Reference(registry.host, "faults/none", "v9"))
    assert caught.value.status == 404
    assert caught.value.code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN")
    assert caught.value.reference == f"{registry.host}/faults/none:v9"
    assert "HTTP 404" in caught.value.message


def test_schema1_manifest_is_refused(registry: Registry, pushed: dict[str, str]) -> None:
    schema1 = json.dumps(
        {"schemaVersion": 1, "name": "faults/app", "tag": "v1", "fsLayers": [], "history": []}
    ).encode()
    rule = Rule(
        "GET",
        "/manifests/",
        FaultTransport.replace_body(schema1, mt.DOCKER_MANIFEST_SCHEMA1_SIGNED),
    )
    client, _ = _client(registry, rule)
    with client, pytest.raises(InputError) as caught:
        client.get_manifest(Reference(registry.host, "faults/app", "v1"))
    assert "schema 1" in caught.value.message
    assert "faults/app:v1" in caught.value.message


@pytest.mark.parametrize("by", ["digest", "tag"])
def test_manifest_digest_mismatch_is_detected(
    registry: Registry, pushed: dict[str, str], by: str
) -> None:
    client, _ = _client(registry, Rule("GET", "/manifests/", FaultTransport.corrupt()))
    ref = Reference(
        registry.host,
        "faults/app",
        None if by == "digest" else "v1",
        pushed["digest"] if by == "digest" else None,
    )
    with client, pytest.raises(DigestMismatchError) as caught:
        client.get_manifest(ref)
    assert caught.value.code == "DIGEST_INVALID"


def test_blob_digest_mismatch_is_detected(registry: Registry, pushed: dict[str, str]) -> None:
    client, _ = _client(registry, Rule("GET", "/blobs/", FaultTransport.corrupt()))
    with client, pytest.raises(DigestMismatchError):
        client.get_blob_bytes("faults/app", pushed["layer"])


def test_5xx_and_resets_are_retried(registry: Registry, pushed: dict[str, str]) -> None:
    client, _ = _client(
        registry,
        Rule("GET", "/manifests/", FaultTransport.answer(503), times=1),
        Rule("GET", "/manifests/", FaultTransport.reset(), times=1),
        Rule("GET", "/manifests/", FaultTransport.answer(502), times=1),
    )
    with client:
        fetched = client.get_manifest(Reference(registry.host, "faults/app", "v1"))
        assert fetched.digest == pushed["digest"]
        assert client.transport.stats.retries == 3


def test_429_retry_after_is_honoured(registry: Registry, pushed: dict[str, str]) -> None:
    body = json.dumps({"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}).encode()
    rule = Rule("GET", "/manifests/", FaultTransport.answer(429, body, {"Retry-After": "1"}))
    client, _ = _client(registry, rule)
    started = time.monotonic()
    with client:
        client.get_manifest(Reference(registry.host, "faults/app", "v1"))
    assert time.monotonic() - started >= 0.9


def test_retries_are_bounded(registry: Registry, pushed: dict[str, str]) -> None:
    body = json.dumps({"errors": [{"code": "UNKNOWN", "message": "boom"}]}).encode()
    client, seam = _client(
        registry, Rule("GET", "/manifests/", FaultTransport.answer(500, body), times=99)
    )
    with client, pytest.raises(RegistryError) as caught:
        client.get_manifest(Reference(registry.host, "faults/app", "v1"))
    assert caught.value.status == 500
    assert caught.value.code == "UNKNOWN"
    assert sum(1 for method, path, _ in seam.log if "/manifests/" in path) == FAST.max_attempts


def test_blob_read_resumes_with_range(registry: Registry, pushed: dict[str, str]) -> None:
    client, seam = _client(
        registry, Rule("GET", "/blobs/", FaultTransport.break_download_after(50_000))
    )
    with client:
        data = client.get_blob_bytes("faults/app", pushed["layer"])
    assert compute_digest(data) == pushed["layer"]
    assert ("GET", f"/v2/faults/app/blobs/{pushed['layer']}", "bytes=50000-") in seam.log


def test_chunked_upload_resumes_from_the_registry_offset(registry: Registry) -> None:
    data = random_bytes(300_000, "chunk-resume")
    digest = compute_digest(data)
    # The second PATCH is reset before it reaches the registry: the registry
    # reports 65536 bytes received and the upload goes on from there.
    rule = Rule("PATCH", "/blobs/uploads/", FaultTransport.reset(), times=1)
    rule_skip_first = Rule("PATCH", "/blobs/uploads/", lambda r, inner: inner.send(r))
    client, seam = _client(registry, rule_skip_first, rule)
    chunks = (data[i : i + 10_000] for i in range(0, len(data), 10_000))
    with client:
        client.upload_blob("faults/chunked", digest, len(data), chunks, chunk_size=65_536)
        assert client.get_blob_bytes("faults/chunked", digest) == data
    methods = [m for m, path, _ in seam.log if "/blobs/uploads/" in path]
    assert methods.count("GET") == 1  # the upload status
    assert client.transport.stats.bytes_uploaded == len(data)


def test_chunked_upload_broken_mid_body(registry: Registry) -> None:
    """distribution cancels an upload session whose PATCH broke mid-body. In the
    first chunk the upload starts over in a new session; after it, the chunks
    already sent are gone from an iterable, and the error says so."""
    data = random_bytes(200_000, "chunk-mid-body")
    digest = compute_digest(data)
    first = Rule("PATCH", "/blobs/uploads/", FaultTransport.break_upload_after(30_000), times=1)
    client, seam = _client(registry, first)
    chunks = (data[i : i + 10_000] for i in range(0, len(data), 10_000))
    with client:
        client.upload_blob("faults/mid-first", digest, len(data), chunks, chunk_size=65_536)
        assert client.get_blob_bytes("faults/mid-first", digest) == data
    starts = [m for m, path, _ in seam.log if m == "POST" and "/blobs/uploads/" in path]
    assert len(starts) == 2  # the session the registry cancelled, and a new one

    passed = Rule("PATCH", "/blobs/uploads/", lambda r, inner: inner.send(r))
    second = Rule("PATCH", "/blobs/uploads/", FaultTransport.break_upload_after(30_000), times=1)
    client, seam = _client(registry, passed, second)
    chunks = (data[i : i + 10_000] for i in range(0, len(data), 10_000))
    with client:
        with pytest.raises(RegistryError) as caught:
            client.upload_blob("faults/mid-second", digest, len(data), chunks, chunk_size=65_536)
        assert not client.blob_exists("faults/mid-second", digest)
    assert "before the chunk at 65536" in caught.value.message
    assert "opener" in (caught.value.hint or "")


def test_streamed_upload_broken_mid_body_completes(registry: Registry) -> None:
    data = random_bytes(400_000, "stream-resume")
    digest = compute_digest(data)
    rule = Rule("PUT", "/blobs/uploads/", FaultTransport.break_upload_after(150_000))
    client, seam = _client(registry, rule)
    with client:
        sent = client.upload_blob(
            "faults/streamed", digest, len(data), lambda off: iter([data[off:]])
        )
        assert client.get_blob_bytes("faults/streamed", digest) == data
    assert sent >= len(data)
    assert any(m == "GET" and "/blobs/uploads/" in p for m, p, _ in seam.log)


def test_concurrency_is_bounded_per_registry(registry: Registry, pushed: dict[str, str]) -> None:
    client, seam = _client(registry, max_concurrency=2)
    with client, ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: client.get_blob_bytes("faults/app", pushed["layer"]), range(16))
        )
    assert all(compute_digest(r) == pushed["layer"] for r in results)
    assert seam.max_in_flight <= 2


@contextmanager
def _loopback_server(
    handle: Callable[[socket.socket, threading.Event], None],
) -> Iterator[str]:
    """A raw TCP server on 127.0.0.1: ``handle`` runs in a thread per connection.

    Every connection is held open until the server stops, so a handler that
    returns without answering leaves the client waiting.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            held.append(connection)
            threading.Thread(target=handle, args=(connection, stop), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@pytest.fixture
def stalling_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    with _loopback_server(lambda _connection, _stop: None) as host:
        yield host


def test_stalled_registry_fails_within_the_bound(stalling_server: str) -> None:
    options = RegistryOptions(
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, total_time=5),
        stall_timeout=0.3,
        connect_timeout=0.3,  # the TLS handshake stalls too: it counts as connecting
        insecure_registries=frozenset({stalling_server}),
    )
    started = time.monotonic()
    with RegistryClient(stalling_server, options) as client, pytest.raises(NetworkError) as caught:
        client.ping()
    assert time.monotonic() - started < 5
    assert stalling_server in caught.value.message


@pytest.fixture
def stalling_body_server() -> Iterator[str]:
    """Answers /v2/, then for anything else sends headers and 10 body bytes, and stalls."""

    def handle(connection: socket.socket, stop: threading.Event) -> None:
        with connection.makefile("rb") as reader:
            while not stop.is_set():
                line = reader.readline()
                if not line:
                    return
                path = line.split()[1] if len(line.split()) > 1 else b"/"
                while reader.readline() not in (b"\r\n", b"\n", b""):
                    pass
                if path == b"/v2/":
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                    continue
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                stop.wait(5)
                return

    with _loopback_server(handle) as host:
        yield host


def test_stalled_body_read_fails_within_the_bound(stalling_body_server: str) -> None:
    options = RegistryOptions(
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, total_time=5),
        stall_timeout=0.3,
        connect_timeout=0.3,  # this server never completes a TLS handshake either
    )
    started = time.monotonic()
    digest = "sha256:" + "2" * 64
    with (
        RegistryClient(stalling_body_server, options) as client,
        pytest.raises(NetworkError) as caught,
    ):
        client.get_blob_bytes("stall/app", digest)
    assert time.monotonic() - started < 5
    assert "at byte 10, " in caught.value.message


def test_oversized_manifest_is_refused(registry: Registry, pushed: dict[str, str]) -> None:
    huge = b'{"schemaVersion":2,"padding":"' + b"x" * (5 * 1024 * 1024) + b'"}'
    rule = Rule("GET", "/manifests/", FaultTransport.replace_body(huge, mt.OCI_MANIFEST))
    client, _ = _client(registry, rule)
    with client, pytest.raises(RegistryError, match="more than 4 MiB"):
        client.get_manifest(Reference(registry.host, "faults/app", "v1"))


def test_manifest_body_break_is_retried(registry: Registry, pushed: dict[str, str]) -> None:
    rule = Rule("GET", "/manifests/", FaultTransport.break_download_after(10))
    client, _ = _client(registry, rule)
    with client:
        fetched = client.get_manifest(Reference(registry.host, "faults/app", "v1"))
    assert fetched.digest == pushed["digest"]


def test_registry_restart_is_ridden_out(registry_factory: Callable[..., Registry]) -> None:
    restarting = registry_factory()
    image = make_image(seed="restart")
    push_http(image, restarting.url, "restart/app", "v1")
    policy = RetryPolicy(max_attempts=40, base_delay=0.05, max_delay=0.2, total_time=30)
    ref = Reference(restarting.host, "restart/app", "v1")
    with RegistryClient(restarting.host, RegistryOptions(retry=policy)) as client:
        assert client.get_manifest(ref).digest == image.digest  # a pooled keep-alive now
        restarting.stop()
        timer = threading.Timer(0.5, restarting.start)
        timer.start()
        try:
            # The pooled connection is dead and the port refuses until the restart.
            assert client.get_manifest(ref).digest == image.digest
        finally:
            timer.join()
        assert client.transport.stats.retries >= 1
