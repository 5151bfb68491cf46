"""Copy benchmark: promoter against skopeo (and docker, and a raw curl upload).

Seeds local registries (Debian's docker-registry on loopback ports), then runs
each tool on the same workloads and prints, side by side: wall time, CPU time
(user + sys of the tool's own processes, from GNU time), peak memory (max RSS),
blob bytes up and down, and requests. Bytes and requests are counted by a second,
identical run through the counting proxy (tests/support/fault_proxy.py), so the
proxy never slows the timed run.

Workloads: one 1 GiB image of 8 incompressible layers; 50 small images of 3
layers; a 2-platform index. Cases: within one registry (a fresh machine: skopeo
starts from an empty blob-info cache), to another registry, and a re-run with
nothing to do. Docker's numbers are the client's CPU and memory only (the work
happens in dockerd). Two floors print beside the tools: the least Python process
(``http.client``) for the same-registry copy (``least_copy.py``), and a raw
``curl | curl`` copy between the two registries.

    .venv/bin/python benchmarks/copy_bench.py            # the full run (a few minutes)
    .venv/bin/python benchmarks/copy_bench.py --small    # a quick run (8 MiB layers, 10 images)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _compiled import compile_promoter  # noqa: E402  (benchmarks/, this script's folder)
from _report import markdown_table  # noqa: E402

from tests.support.fault_proxy import FaultProxy  # noqa: E402
from tests.support.images import (  # noqa: E402
    Image,
    make_image,
    make_platform_index,
    push_http,
    push_with_skopeo,
    write_layout,
    write_random_layout,
)
from tests.support.registry import Registry, start_registry  # noqa: E402

T = TypeVar("T")
SKOPEO_CACHE = Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb")
MiB = 1 << 20


@dataclass
class Usage:
    """What some child processes cost."""

    wall: float = 0.0
    cpu: float = 0.0
    max_rss_kib: int = 0
    failed: str | None = None
    inner: float | None = None

    def add(self, other: Usage) -> None:
        self.cpu += other.cpu
        self.max_rss_kib = max(self.max_rss_kib, other.max_rss_kib)
        self.failed = self.failed or other.failed


@dataclass
class Row:
    """One measured (workload, case, tool)."""

    workload: str
    case: str
    tool: str
    usage: Usage
    uploaded: int | None = None
    downloaded: int | None = None
    requests: int | None = None
    note: str = ""


@dataclass
class Setup:
    """The registries, proxies and seeded content of one benchmark run."""

    work: Path
    source: Registry
    other: Registry
    source_proxy: FaultProxy
    other_proxy: FaultProxy
    big_layout: Path
    big: Image
    small: list[Image] = field(default_factory=list)
    index: Image | None = None
    counter: int = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}/n{self.counter}"


TIME = shutil.which("time") or "/usr/bin/time"


def run(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    stdout: Path | None = None,
) -> Usage:
    """Run one child under GNU time: its own CPU time and peak RSS.

    (``wait4`` from this process would report a forked child's pre-exec copy of
    this process's memory as its peak; GNU time's child starts from a small one.)
    """
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("r") as report, tempfile.TemporaryFile() as errors:
        done = subprocess.run(
            [TIME, "-q", "-f", "%U %S %M", "-o", report.name, *argv],
            stdin=subprocess.DEVNULL,
            stdout=stdout.open("wb") if stdout else subprocess.DEVNULL,
            stderr=errors,
            env={**os.environ, **(env or {})},
            timeout=timeout,
            check=False,
        )
        wall = time.perf_counter() - started
        fields = report.read().split()[-3:]
        failed = None
        if done.returncode != 0:
            errors.seek(0)
            failed = f"exit {done.returncode}: {errors.read().decode(errors='replace')[-300:]}"
    user, system, rss = (
        (float(fields[0]), float(fields[1]), int(fields[2])) if fields else (0, 0, 0)
    )
    return Usage(wall, user + system, rss, failed)


def run_many(commands: Sequence[Sequence[str]], parallel: int = 1) -> Usage:
    """Run commands (``parallel`` at a time); wall time of the whole, CPU summed."""
    return _in_parallel(run, commands, parallel)


# -- the tools -----------------------------------------------------------------------------

PROMOTER = [sys.executable, "-m", "promoter"]


def promoter_copy(pairs: Sequence[tuple[str, str]], setup: Setup, work: Path) -> Usage:
    """One promoter process: ``copy SRC DST``, or ``copy --batch`` for many images.

    The copy's own duration (without interpreter start-up) is kept in ``inner``.
    """
    insecure: list[str] = []
    for host in sorted({p.split("/", 1)[0] for pair in pairs for p in pair}):
        insecure += ["--insecure-registry", host]
    out = work / "promoter-out.json"
    if len(pairs) == 1:
        argv = [*PROMOTER, "copy", "-q", "-o", "json", *insecure, pairs[0][0], pairs[0][1]]
    else:
        batch = work / f"batch-{setup.counter}.txt"
        batch.write_text("".join(f"{s} {d}\n" for s, d in pairs))
        argv = [*PROMOTER, "copy", "-q", "-o", "json", "-j", "8", *insecure, "--batch", str(batch)]
    usage = run(argv, stdout=out)
    try:
        doc = json.loads(out.read_text())
        copies = doc.get("copies", [doc])
        usage.inner = max(c["durationSeconds"] for c in copies)
        if len(copies) > 1:  # a batch: from the first copy's start to the last one's end
            usage.inner = None
    except (ValueError, KeyError, OSError):
        usage.inner = None
    return usage


def skopeo_copy(pairs: Sequence[tuple[str, str]], setup: Setup, work: Path) -> Usage:
    """skopeo, one process per image as a CI script runs it, from an empty blob-info cache."""
    SKOPEO_CACHE.unlink(missing_ok=True)
    return run_many(
        [
            ["skopeo", "copy", "-q", "--all", "--preserve-digests", "--src-tls-verify=false",
             "--dest-tls-verify=false", f"docker://{s}", f"docker://{d}"]
            for s, d in pairs
        ]
    )  # fmt: skip


LEAST_NAME = "python (least)"
CURL_COPY = "curl | curl (raw copy)"
LEAST = [sys.executable, str(Path(__file__).resolve().parent / "least_copy.py")]


def least_copy(pairs: Sequence[tuple[str, str]], setup: Setup, work: Path) -> Usage:
    """The floor of a Python process on ``http.client`` within one registry (``least_copy.py``)."""
    return run_many([[*LEAST, s, d] for s, d in pairs])


def docker_copy(pairs: Sequence[tuple[str, str]], setup: Setup, work: Path) -> Usage:
    """docker pull, tag, push per image; then the local images are removed."""
    total = Usage()
    started = time.perf_counter()
    for source, destination in pairs:
        for argv in (
            ["docker", "pull", "-q", source],
            ["docker", "tag", source, destination],
            ["docker", "push", "-q", destination],
        ):
            total.add(run(argv))
    total.wall = time.perf_counter() - started
    run(["docker", "rmi", "-f", *{s for s, _ in pairs}, *{d for _, d in pairs}])
    return total


def curl_upload(blobs: Sequence[Path], host: str, repository: str, parallel: int = 8) -> Usage:
    """The raw upload baseline: POST then streamed PUT per blob, ``parallel`` at once."""

    def upload(path: Path) -> Usage:
        started = time.perf_counter()
        location = _upload_location(host, repository)
        usage = run(
            ["curl", "-s", "-f", "-o", "/dev/null", "-X", "PUT", "-T", str(path),
             "-H", "Content-Type: application/octet-stream",
             f"{location}&digest=sha256:{path.name}"]
        )  # fmt: skip
        usage.wall = time.perf_counter() - started
        return usage

    return _in_parallel(upload, blobs, parallel)


def curl_copy(
    blobs: Sequence[tuple[str, int]],
    source: str,
    destination: str,
    parallel: int = 8,
) -> Usage:
    """The raw copy baseline: per blob, ``curl GET`` from ``source`` piped into
    ``curl PUT`` to ``destination`` (``host/repository`` each), ``parallel`` at once.

    What any copy between these two registries costs them, with next to nothing
    of its own: the floor for a tool's copy on this machine.
    """
    src_host, src_repo = source.split("/", 1)
    dst_host, dst_repo = destination.split("/", 1)

    def one(blob: tuple[str, int]) -> Usage:
        digest, size = blob
        started = time.perf_counter()
        location = _upload_location(dst_host, dst_repo)
        get = ["curl", "-s", "-f", f"http://{src_host}/v2/{src_repo}/blobs/{digest}"]
        put = ["curl", "-s", "-f", "-o", "/dev/null", "-X", "PUT", "-T", "-",
               "-H", "Content-Type: application/octet-stream",
               "-H", f"Content-Length: {size}", "-H", "Transfer-Encoding:",
               f"{location}&digest={digest}"]  # fmt: skip
        script = f"set -o pipefail; {shlex.join(get)} | {shlex.join(put)}"
        usage = run(["bash", "-c", script])
        usage.wall = time.perf_counter() - started
        return usage

    return _in_parallel(one, blobs, parallel)


def _in_parallel(each: Callable[[T], Usage], items: Sequence[T], parallel: int) -> Usage:
    """``each`` on every item, ``parallel`` at once: the wall time of the whole, CPU summed."""
    started = time.perf_counter()
    total = Usage()
    with ThreadPoolExecutor(parallel) as pool:
        for usage in pool.map(each, items):
            total.add(usage)
    total.wall = time.perf_counter() - started
    return total


def _upload_location(host: str, repository: str) -> str:
    post = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-D", "-", "-X", "POST",
         f"http://{host}/v2/{repository}/blobs/uploads/"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return next(
        line.split(":", 1)[1].strip()
        for line in post.stdout.splitlines()
        if line.lower().startswith("location:")
    )


Tool = Callable[[Sequence[tuple[str, str]], Setup, Path], Usage]


# -- setup ----------------------------------------------------------------------------------


def seed(work: Path, small: bool) -> Setup:
    source = start_registry(work / "registry-a")
    other = start_registry(work / "registry-b")
    layer = 8 * MiB if small else 128 * MiB
    big_layout = work / "big-layout"
    print(f"seeding: 8 x {layer // MiB} MiB image ...", file=sys.stderr, flush=True)
    big = write_random_layout(big_layout, "big", [layer] * 8, seed="bench-big")
    push_with_skopeo(big_layout, "big", f"{source.host}/src/big:1", multi=False, timeout=900)
    setup = Setup(
        work, source, other, FaultProxy(source.host).start(), FaultProxy(other.host).start(),
        big_layout, big,
    )  # fmt: skip
    count = 10 if small else 50
    print(f"seeding: {count} small images, a 2-platform index ...", file=sys.stderr, flush=True)
    for i in range(count):
        image = make_image(layer_sizes=[96_000, 48_000, 16_000], seed=f"bench-small-{i}")
        push_http(image, source.url, "src/small", f"v{i}")
        setup.small.append(image)
    setup.index = make_platform_index(seed="bench-index", layer_sizes=[4 * MiB, 2 * MiB, MiB])
    push_http(setup.index, source.url, "src/multi", "1")
    return setup


def counted(setup: Setup, measure: Callable[[str, str], Usage]) -> tuple[int, int, int]:
    """Blob bytes uploaded and downloaded, and requests, of a run through both proxies."""
    proxies = (setup.source_proxy, setup.other_proxy)
    for proxy in proxies:
        proxy.reset_counters()
    measure(setup.source_proxy.host, setup.other_proxy.host)
    uploaded = sum(p.uploaded_blob_bytes() for p in proxies)
    downloaded = sum(p.downloaded_blob_bytes() for p in proxies)
    return uploaded, downloaded, sum(p.count() for p in proxies)


def measure_case(
    setup: Setup,
    workload: str,
    case: str,
    tool_name: str,
    tool: Tool,
    images: list[tuple[str, str]],
) -> Row:
    """Time a tool on (source repo:tag, destination repo) pairs, then count it through proxies.

    ``case`` is ``same`` (destination in the source registry), ``other`` or
    ``rerun`` (the copy is made first, untimed, then timed again).
    """
    slug = "".join(c if c.isalnum() else "-" for c in tool_name.lower()).strip("-")
    dest_repo = setup.fresh(f"dst-{slug}")
    count_repo = setup.fresh(f"cnt-{slug}")

    def pairs(src_host: str, dst_host: str, repo: str) -> list[tuple[str, str]]:
        target = src_host if case == "same" else dst_host
        return [(f"{src_host}/{s}", f"{target}/{repo}/{d}") for s, d in images]

    def timed(src_host: str, dst_host: str, repo: str) -> Usage:
        return tool(pairs(src_host, dst_host, repo), setup, setup.work)

    if case == "rerun":
        timed(setup.source.host, setup.other.host, dest_repo)
        timed(setup.source_proxy.host, setup.other_proxy.host, count_repo)
    usage = timed(setup.source.host, setup.other.host, dest_repo)
    uploaded, downloaded, requests = counted(setup, lambda s, d: timed(s, d, count_repo))
    return Row(workload, case, tool_name, usage, uploaded, downloaded, requests)


# -- report ---------------------------------------------------------------------------------


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / MiB:.1f} MiB" if n else "0"


def table(rows: list[Row]) -> str:
    head = (
        "workload", "case", "tool", "wall s", "CPU s", "peak RSS", "blobs up", "blobs down",
        "requests",
        "copy itself",
    )  # fmt: skip
    lines = [head]
    for r in rows:
        u = r.usage
        lines.append(
            (
                r.workload,
                r.case,
                r.tool + (" (FAILED)" if u.failed else ""),
                f"{u.wall:.2f}",
                f"{u.cpu:.2f}",
                f"{u.max_rss_kib / 1024:.0f} MiB",
                fmt_bytes(r.uploaded),
                fmt_bytes(r.downloaded),
                "-" if r.requests is None else str(r.requests),
                "" if u.inner is None else f"{u.inner:.3f} s",
            )
        )
    return markdown_table(lines)


def find(rows: list[Row], workload: str, case: str, tool: str) -> Row | None:
    return next((r for r in rows if (r.workload, r.case, r.tool) == (workload, case, tool)), None)


def targets(rows: list[Row], big: str, small: str) -> list[str]:
    """The issue's targets, as measured ratios."""
    checks: list[str] = []

    def check(label: str, value: float | None, limit: float, unit: str = "x") -> None:
        if value is None:
            checks.append(f"{label}: not measured")
            return
        verdict = "ok" if value <= limit else "MISSED"
        checks.append(f"{label}: {value:.3f}{unit} (target <= {limit}{unit}) {verdict}")

    def ratio(a: Row | None, b: Row | None, attr: str = "wall") -> float | None:
        if a is None or b is None:
            return None
        return float(getattr(a.usage, attr)) / max(float(getattr(b.usage, attr)), 1e-9)

    same = find(rows, big, "same", "promoter")
    check("big image, same registry, promoter wall", same.usage.wall if same else None, 0.15, " s")
    if same is not None:
        moved = (same.uploaded or 0) + (same.downloaded or 0)
        checks.append(f"big image, same registry, promoter blob bytes moved: {fmt_bytes(moved)}")
        if same.usage.inner is not None:
            checks.append(f"big image, same registry, the copy itself: {same.usage.inner:.3f} s")
    least = find(rows, big, "same", LEAST_NAME)
    if least is not None:
        checks.append(
            f"big image, same registry, the least Python process (floor): {least.usage.wall:.3f} s"
        )
    raw_upload = find(rows, big, "other", "curl (raw)")
    check("big image, across registries, promoter / raw curl wall",
          ratio(find(rows, big, "other", "promoter"), raw_upload), 1.05)  # fmt: skip
    floor = ratio(find(rows, big, "other", CURL_COPY), raw_upload)
    if floor is not None:
        checks.append(
            f"big image, across registries, raw curl | curl copy / raw curl upload (floor): "
            f"{floor:.3f}x"
        )
    check("big image, across registries, promoter / skopeo CPU",
          ratio(find(rows, big, "other", "promoter"), find(rows, big, "other", "skopeo"), "cpu"), 0.5)  # fmt: skip
    check("small images across registries, promoter / skopeo wall",
          ratio(find(rows, small, "other", "promoter"), find(rows, small, "other", "skopeo")), 0.6)  # fmt: skip
    check("small images re-run, promoter / skopeo wall",
          ratio(find(rows, small, "rerun", "promoter"), find(rows, small, "rerun", "skopeo")), 0.2)  # fmt: skip
    peak = max((r.usage.max_rss_kib for r in rows if r.tool == "promoter"), default=None)
    check("promoter peak memory", None if peak is None else peak / 1024, 64, " MiB")
    return checks


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick run on small data")
    parser.add_argument("--no-docker", action="store_true", help="leave docker out")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    compile_promoter()
    if shutil.which("skopeo") is None:
        print("skopeo is required", file=sys.stderr)
        return 2
    use_docker = not args.no_docker and docker_available()
    saved_cache = None
    if SKOPEO_CACHE.exists():  # put skopeo's own cache back afterwards
        saved_cache = SKOPEO_CACHE.read_bytes()
    work = Path(tempfile.mkdtemp(prefix="copy-bench-"))
    rows: list[Row] = []
    setup: Setup | None = None
    try:
        setup = seed(work, args.small)
        big = f"1 image, 8 x {setup.big.manifest['layers'][0]['size'] // MiB} MiB"
        small = f"{len(setup.small)} images x 3 layers"
        index = "2-platform index"
        workloads = {
            big: [("src/big:1", "img:1")],
            small: [(f"src/small:v{i}", f"img:v{i}") for i in range(len(setup.small))],
            index: [("src/multi:1", "img:1")],
        }
        tools: list[tuple[str, Tool]] = [("promoter", promoter_copy), ("skopeo", skopeo_copy)]
        if use_docker:
            tools.append(("docker", docker_copy))
        for workload, images in workloads.items():
            for case in ("same", "other", "rerun"):
                for name, tool in tools:
                    if name == "docker" and workload == small and case != "other":
                        continue  # 50 pull/tag/push rounds per case: once is enough
                    print(f"{workload} / {case} / {name} ...", file=sys.stderr, flush=True)
                    rows.append(measure_case(setup, workload, case, name, tool, images))
            blobs = [work / "big-layout" / "blobs" / "sha256" / d.split(":")[1]
                     for d in [setup.big.config_digest or "", *setup.big.layer_digests]]  # fmt: skip
            if workload == big:
                print(f"{workload} / floors ...", file=sys.stderr, flush=True)
                rows.append(measure_case(setup, big, "same", LEAST_NAME, least_copy, images))
                usage = curl_upload(blobs, setup.other.host, setup.fresh("curl"))
                size = sum(p.stat().st_size for p in blobs)
                rows.append(Row(big, "other", "curl (raw)", usage, size, 0, 2 * len(blobs)))
                sized = [(f"sha256:{p.name}", p.stat().st_size) for p in blobs]
                usage = curl_copy(
                    sized,
                    f"{setup.source.host}/src/big",
                    f"{setup.other.host}/{setup.fresh('pipe')}",
                )
                rows.append(Row(big, "other", CURL_COPY, usage, size, size, 3 * len(blobs)))
            if workload == small:
                rows.append(raw_small_upload(setup))
    finally:
        if setup is not None:
            setup.source_proxy.stop()
            setup.other_proxy.stop()
            setup.source.stop()
            setup.other.stop()
        shutil.rmtree(work, ignore_errors=True)
        if saved_cache is not None:
            SKOPEO_CACHE.parent.mkdir(parents=True, exist_ok=True)
            SKOPEO_CACHE.write_bytes(saved_cache)
    print(table(rows))
    print()
    for line in targets(rows, big, small):
        print(f"- {line}")
    failures = [r for r in rows if r.usage.failed]
    for r in failures:
        print(f"! {r.workload} / {r.case} / {r.tool} failed: {r.usage.failed}", file=sys.stderr)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    if args.json:
        Path(args.json).write_text(
            json.dumps([{**r.__dict__, "usage": r.usage.__dict__} for r in rows], indent=2)
        )
    return 1 if failures else 0


def raw_small_upload(setup: Setup) -> Row:
    """The raw parallel upload of the small images' blobs and manifests (curl)."""
    layout = write_layout(setup.work / "small-layout", setup.small)
    repo = setup.fresh("curl-small")
    blobs = sorted({d for image in setup.small for d in image.blobs})
    paths = [layout / "blobs" / "sha256" / d.split(":")[1] for d in blobs]
    started = time.perf_counter()
    usage = curl_upload(paths, setup.other.host, repo)
    manifests = [
        ["curl", "-s", "-f", "-o", "/dev/null", "-X", "PUT",
         "-H", f"Content-Type: {image.media_type}",
         "--data-binary", f"@{layout / 'blobs' / 'sha256' / image.digest.split(':')[1]}",
         f"http://{setup.other.host}/v2/{repo}/manifests/v{i}"]
        for i, image in enumerate(setup.small)
    ]  # fmt: skip
    usage.add(run_many(manifests, parallel=8))
    usage.wall = time.perf_counter() - started
    size = sum(len(image.blobs[d]) for image in setup.small for d in image.blobs)
    return Row(f"{len(setup.small)} images x 3 layers", "other", "curl (raw)", usage, size, 0,
               2 * len(blobs) + len(setup.small))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
