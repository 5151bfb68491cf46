"""Promotions at scale: a shared 50 MiB base against a skopeo loop, then 100 to 2,000 images.

Two parts, each on its own Debian ``docker-registry`` processes on loopback ports:

1. **Shared base.** 20 images that share one 50 MiB base layer (plus one small
   layer each) promoted from staging to another registry:
   ``promoter run --stage check,promote`` against a ``skopeo copy --all
   --preserve-digests`` loop started from an empty blob-info cache (and, as a
   second skopeo row, with the cache emptied before every copy: 20 fresh
   runners). Wall time of a direct run; blob bytes uploaded to the destination
   and requests from a second, identical run into fresh registries through the
   counting proxy of ``tests/support/fault_proxy.py``, so the proxy never slows
   the timed run.
2. **Many images.** 100, 500 and 2,000 images of 3 small layers, each promoted
   to two production registries: ``promoter plan --out plan.json``, then
   ``promoter apply plan.json``, then the re-run with nothing to do
   (``promoter run --stage check,promote``). Per size: plan, apply and re-run
   time, peak memory (GNU time's max RSS of the promoter process), requests per
   image and destination (the registries' access logs), time per image
   ((plan + apply) / images). At the largest size the same plan is applied
   again, to emptied production registries, as 4 ``apply --shard I/4``
   processes at once and one ``apply --finish``. Last, the rate-limited case:
   both production registries behind ``tests/support/rate_limit_proxy.py``
   (429 + Retry-After beyond 200 requests in any second) and promoter given
   ``--max-rps HOST=200`` for each: the achieved rate over the limit and the
   refused requests. Beside it, in the same run, the rates that say whether the
   limit is reachable at all on this machine: the same plan applied again
   unpaced (the proxies' limit out of reach), and a floor, ``rate_floor.py``,
   the least Python client doing comparable work (``http.client``, 8
   keep-alive connections per registry, GET manifest, GET config and HEAD
   layers of the promoted images), through the same proxies, paced as
   promoter paces, then unpaced.

Staging is seeded by writing the registry's filesystem storage directly (the
layout ``distribution`` itself writes: blobs, layer links, revisions, tags),
which no measurement includes; the registry serves it as if pushed.

    .venv/bin/python benchmarks/scale_bench.py            # full: 100, 500, 2,000 images
    .venv/bin/python benchmarks/scale_bench.py --quick    # 20, 100, 200 images
    .venv/bin/python benchmarks/scale_bench.py --sizes 100,2000 --rate-images 300 --json out.json

Targets (issue #13): shared base, bytes uploaded <= 1.05x the unique bytes and
wall time <= 0.3x skopeo's; time per image at the largest size <= 1.2x that at
the smallest; peak memory < 150 MiB at 2,000 images; re-run of 2,000 images
< 20 s; rate-limited, >= 0.85 of the limit and no refused or failed request.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _compiled import compile_promoter  # noqa: E402  (benchmarks/, this script's folder)
from _report import markdown_table, write_bench_pipeline  # noqa: E402

from promoter.registry.transport.ratelimit import SPACING_MARGIN  # noqa: E402
from tests.support.fault_proxy import FaultProxy  # noqa: E402
from tests.support.images import Image, make_image, random_layer  # noqa: E402
from tests.support.rate_limit_proxy import RateLimitProxy  # noqa: E402
from tests.support.registry import Registry, start_registry  # noqa: E402

__all__ = ["main"]

MiB = 1 << 20
TIME = "/usr/bin/time"
PROMOTER = [sys.executable, "-m", "promoter"]
SKOPEO_CACHE = Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb")
LABELS = {"org.opencontainers.image.source": "https://example.invalid/scale"}
SMALL_LAYERS = (40_000, 30_000, 20_000)
RATE_LIMIT = 200
#: The proxies' limit for the unlimited runs: far beyond what this machine sends.
UNLIMITED = 1_000_000
#: The floor's connections per production registry: promoter's read slots per registry
#: (``RegistryOptions.max_concurrency``), and its 8 images at once.
FLOOR_THREADS = 8
SHARDS = 4


# -- processes ---------------------------------------------------------------------------


@dataclass
class Proc:
    """One promoter (or skopeo) process: wall time, peak RSS, what it printed."""

    wall: float
    rss_kib: int
    cpu: float = 0.0  # user + system seconds of the process itself
    stdout: str = field(repr=False, default="")

    @property
    def rss_mib(self) -> float:
        return self.rss_kib / 1024


def _env(work: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_ACTIONS", "TF_BUILD", "CI", "PROMOTER_MAX_RPS")
        and not k.startswith(("GITHUB_", "BUILD_", "SYSTEM_"))
    }
    env.update(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.invalid")
    env.update(GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.invalid")
    env["HOME"] = str(work / "home")
    return env


def start(
    argv: Sequence[str], env: dict[str, str], cwd: Path, report: Path
) -> subprocess.Popen[str]:
    """Start one child under GNU time (its own peak RSS in KiB, user and system CPU seconds,
    into ``report``)."""
    return subprocess.Popen(
        [TIME, "-q", "-f", "%M %U %S", "-o", str(report), *argv],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen[str], started: float, report: Path, what: str) -> Proc:
    out, err = child.communicate()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{what} failed (exit {child.returncode}):\n{err[-3000:]}")
    fields = report.read_text().split()[-3:]
    if len(fields) < 3:
        return Proc(wall, 0, 0.0, out)
    return Proc(wall, int(fields[0]), float(fields[1]) + float(fields[2]), out)


def timed(argv: Sequence[str], env: dict[str, str], cwd: Path, what: str) -> Proc:
    report = cwd / ".time"
    started = time.perf_counter()
    return finish(start(argv, env, cwd, report), started, report, what)


# -- seeding: distribution's filesystem layout -------------------------------------------


def _link(path: Path, digest: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "link").write_text(digest)


def store_blob(registry: Registry, data: bytes) -> str:
    """Write a blob into the registry's storage (once); its digest."""
    hexdigest = hashlib.sha256(data).hexdigest()
    folder = registry.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest
    if not (folder / "data").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "data").write_bytes(data)
    return f"sha256:{hexdigest}"


def store_image(registry: Registry, repository: str, image: Image, tag: str) -> None:
    """What a push of ``image`` to ``repository:tag`` leaves in filesystem storage."""
    repo = registry.storage / "docker/registry/v2/repositories" / repository
    for data in image.blobs.values():
        digest = store_blob(registry, data)
        _link(repo / "_layers/sha256" / digest.split(":")[1], digest)
    digest = store_blob(registry, image.manifest_bytes)
    hexdigest = digest.split(":")[1]
    _link(repo / "_manifests/revisions/sha256" / hexdigest, digest)
    _link(repo / "_manifests/tags" / tag / "current", digest)
    _link(repo / "_manifests/tags" / tag / "index/sha256" / hexdigest, digest)


def wipe(registry: Registry) -> None:
    """Empty a registry: stop it, remove its storage, start it on the same port."""
    registry.stop()
    shutil.rmtree(registry.storage, ignore_errors=True)
    registry.start()


def served(registry: Registry, repository: str, tag: str) -> str:
    """The digest ``repository:tag`` resolves to, asked over HTTP (checks the seeding)."""
    import httpx

    response = httpx.head(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=30,
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


# -- pipelines -----------------------------------------------------------------------------


def write_project(
    folder: Path,
    hosts: dict[str, str],
    names: Sequence[str],
    to: Sequence[str],
    env: dict[str, str],
) -> Path:
    """A git checkout with a pipeline.yml promoting ``staging/NAME:bench`` to ``to``/NAME:v1."""
    pipeline = write_bench_pipeline(folder, hosts, names, to)
    if not (folder / ".git").exists():
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
            subprocess.run(["git", *args], cwd=folder, env=env, check=True)
    return pipeline


def run_args(pipeline: Path, promoter: Sequence[str] = PROMOTER) -> list[str]:
    return [*promoter, "run", "--stage", "check,promote", "-q", "-o", "json", "-f", str(pipeline)]


def logged(registry: Registry) -> int:
    """Requests in the registry's access log so far."""
    return len(registry.requests())


# -- part 1: 20 images on one 50 MiB base ---------------------------------------------------


def skopeo_loop(
    source: str, target: str, names: Sequence[str], env: dict[str, str], fresh_each: bool
) -> float:
    """One ``skopeo copy`` process per image; the blob-info cache empty at the start (or
    before every copy, with ``fresh_each``). Wall time of the loop."""
    SKOPEO_CACHE.unlink(missing_ok=True)
    started = time.perf_counter()
    for name in names:
        if fresh_each:
            SKOPEO_CACHE.unlink(missing_ok=True)
        subprocess.run(
            ["skopeo", "copy", "--quiet", "--all", "--preserve-digests",
             "--src-tls-verify=false", "--dest-tls-verify=false",
             f"docker://{source}/{name}:bench", f"docker://{target}/{name}:v1"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    return time.perf_counter() - started


def shared_base_images(count: int, base_mib: int, prefix: str) -> list[Image]:
    """``count`` images on one ``base_mib`` MiB base layer, each with one small top layer
    of its own (random bytes named after ``prefix``)."""
    base = random_layer(base_mib * MiB, f"{prefix}-base")
    return [
        make_image(
            layers=[base, random_layer(20_000 + 1_000 * i, f"{prefix}-top-{i}")],
            seed=f"top-{i}",
            user="1000",
            labels=LABELS,
        )
        for i in range(count)
    ]


def shared_base(work: Path, env: dict[str, str], count: int, base_mib: int) -> dict[str, Any]:
    """Part 1: promoter and skopeo on ``count`` images sharing a ``base_mib`` MiB layer."""
    root = work / "shared"
    names = [f"app-{i:02d}" for i in range(count)]
    images = shared_base_images(count, base_mib, "scale")
    unique: dict[str, int] = {}
    for image in images:
        unique.update({d: len(b) for d, b in image.blobs.items()})
    unique_bytes = sum(unique.values())
    registries: list[Registry] = []
    proxies: list[FaultProxy] = []

    def registry(name: str) -> Registry:
        registries.append(start_registry(root / name))
        return registries[-1]

    def proxy(target: Registry) -> FaultProxy:
        proxies.append(FaultProxy(target.host).start())
        return proxies[-1]

    result: dict[str, Any] = {"images": count, "base_mib": base_mib, "unique_bytes": unique_bytes}
    try:
        staging = registry("staging")
        for name, image in zip(names, images, strict=True):
            store_image(staging, name, image, "bench")
        assert served(staging, names[-1], "bench") == images[-1].digest
        del images
        staging_proxy = proxy(staging)

        def promoter(target: str, folder: str, via: str) -> Proc:
            hosts = {"staging": via, "prod": target}
            pipeline = write_project(root / folder, hosts, names, ["prod"], env)
            proc = timed(run_args(pipeline), env, pipeline.parent, "promoter run")
            summary = json.loads(proc.stdout)["plan"]["summary"]
            assert summary.get("copy") == count, summary
            return proc

        rows: dict[str, dict[str, Any]] = {}
        print(f"shared base: promoter, {count} images ...", file=sys.stderr, flush=True)
        proc = promoter(registry("prod").host, "timed", staging.host)
        counted = proxy(registry("prod-counted"))
        promoter(counted.host, "counted", staging_proxy.host)
        rows["promoter"] = _shared_row(proc.wall, proc.rss_mib, counted, staging_proxy)
        for label, fresh_each in (
            ("skopeo loop", False),
            ("skopeo, fresh cache per copy", True),
        ):
            print(f"shared base: {label} ...", file=sys.stderr, flush=True)
            wall = skopeo_loop(
                staging.host, registry(f"sk-{fresh_each}").host, names, env, fresh_each
            )
            staging_proxy.reset_counters()
            counted = proxy(registry(f"sk-{fresh_each}-counted"))
            skopeo_loop(staging_proxy.host, counted.host, names, env, fresh_each)
            rows[label] = _shared_row(wall, None, counted, staging_proxy)
        result["rows"] = rows
        return result
    finally:
        for p in proxies:
            p.stop()
        for r in registries:
            r.stop()


def _shared_row(
    wall: float, rss: float | None, destination: FaultProxy, staging: FaultProxy
) -> dict[str, Any]:
    row = {
        "wall": round(wall, 2),
        "peak_mib": None if rss is None else round(rss, 1),
        "uploaded_bytes": destination.uploaded_blob_bytes(),
        "requests_destination": destination.count(),
        "requests_staging": staging.count(),
    }
    staging.reset_counters()
    return row


# -- part 2: many small images ------------------------------------------------------------


@dataclass
class SizeResult:
    images: int
    plan: Proc
    apply: Proc
    rerun: Proc
    requests_prod: int  # plan + apply, both production registries
    requests_staging: int  # plan + apply
    requests_rerun: int  # every registry
    requests_prod_apply: int  # apply alone, both production registries
    sharded: dict[str, Any] | None = None

    @property
    def per_image(self) -> float:
        return (self.plan.wall + self.apply.wall) / self.images

    @property
    def peak_mib(self) -> float:
        return max(p.rss_mib for p in (self.plan, self.apply, self.rerun))

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "images": self.images,
            "plan_seconds": round(self.plan.wall, 2),
            "apply_seconds": round(self.apply.wall, 2),
            "rerun_seconds": round(self.rerun.wall, 2),
            "plan_cpu_seconds": round(self.plan.cpu, 2),
            "apply_cpu_seconds": round(self.apply.cpu, 2),
            "rerun_cpu_seconds": round(self.rerun.cpu, 2),
            "plan_peak_mib": round(self.plan.rss_mib, 1),
            "apply_peak_mib": round(self.apply.rss_mib, 1),
            "rerun_peak_mib": round(self.rerun.rss_mib, 1),
            "peak_mib": round(self.peak_mib, 1),
            "requests_per_image_and_destination": round(self.requests_prod / (2 * self.images), 1),
            "staging_requests_per_image": round(self.requests_staging / self.images, 1),
            "rerun_requests_per_image": round(self.requests_rerun / self.images, 1),
            "seconds_per_image": round(self.per_image, 4),
            # what apply reaches, unlimited, at each production registry (requests a second)
            "apply_rate_per_registry": round(self.requests_prod_apply / 2 / self.apply.wall, 1),
        }
        if self.sharded is not None:
            doc["sharded"] = self.sharded
        return doc


def seed_small(staging: Registry, count: int) -> list[str]:
    names = [f"img-{i:04d}" for i in range(count)]
    for i, name in enumerate(names):
        image = make_image(seed=f"scale-{i}", user="1000", labels=LABELS, layer_sizes=SMALL_LAYERS)
        store_image(staging, name, image, "bench")
        if i == count - 1:
            assert served(staging, name, "bench") == image.digest
    return names


def one_size(
    root: Path,
    env: dict[str, str],
    staging: Registry,
    prods: Sequence[Registry],
    names: Sequence[str],
    sharded: bool,
) -> SizeResult:
    count = len(names)
    for prod in prods:
        wipe(prod)
    hosts = {"staging": staging.host, "prod-a": prods[0].host, "prod-b": prods[1].host}
    folder = root / f"size-{count}"
    pipeline = write_project(folder, hosts, names, ["prod-a", "prod-b"], env)
    plan_file = folder / "plan.json"
    before = [logged(r) for r in (staging, *prods)]
    print(f"{count} images: plan ...", file=sys.stderr, flush=True)
    plan_cmd = [*PROMOTER, "plan", "-o", "json", "-f", str(pipeline), "--out", str(plan_file)]
    plan = timed(plan_cmd, env, folder, "promoter plan")
    summary = json.loads(plan.stdout)["plan"]["summary"]
    assert summary.get("copy") == 2 * count, summary
    planned = [logged(r) for r in (staging, *prods)]
    print(f"{count} images: apply ...", file=sys.stderr, flush=True)
    apply_cmd = [*PROMOTER, "apply", "-q", "-o", "json", str(plan_file)]
    applied = timed(apply_cmd, env, folder, "promoter apply")
    after = [logged(r) for r in (staging, *prods)]
    print(f"{count} images: re-run ...", file=sys.stderr, flush=True)
    rerun = timed(run_args(pipeline, PROMOTER), env, folder, "promoter run (re-run)")
    summary = json.loads(rerun.stdout)["plan"]["summary"]
    assert summary.get("noop") == 2 * count, summary
    final = [logged(r) for r in (staging, *prods)]
    result = SizeResult(
        count,
        plan,
        applied,
        rerun,
        requests_prod=sum(after[1:]) - sum(before[1:]),
        requests_staging=after[0] - before[0],
        requests_rerun=sum(final) - sum(after),
        requests_prod_apply=sum(after[1:]) - sum(planned[1:]),
    )
    if sharded:
        result.sharded = shard_run(folder, env, prods, plan_file, applied)
    return result


def shard_run(
    folder: Path, env: dict[str, str], prods: Sequence[Registry], plan_file: Path, single: Proc
) -> dict[str, Any]:
    """The same plan again, to emptied production registries: 4 shards at once, then finish."""
    for prod in prods:
        wipe(prod)
    print(f"sharded: {SHARDS} shards ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    children = []
    for i in range(1, SHARDS + 1):
        argv = [*PROMOTER, "apply", "-o", "json", "--shard", f"{i}/{SHARDS}", str(plan_file)]
        children.append(start(argv, env, folder, folder / f".time-shard-{i}"))
    shards = [
        finish(child, started, folder / f".time-shard-{i}", f"apply --shard {i}/{SHARDS}")
        for i, child in enumerate(children, 1)
    ]
    shards_wall = time.perf_counter() - started
    print("sharded: finish ...", file=sys.stderr, flush=True)
    finish_proc = timed(
        [*PROMOTER, "apply", "-q", "-o", "json", "--finish", str(plan_file)],
        env,
        folder,
        "apply --finish",
    )
    uploaded = sum(json.loads(p.stdout)["uploaded"]["blobs"] for p in shards)
    return {
        "shards": SHARDS,
        "shards_seconds": round(shards_wall, 2),
        "shard_seconds": [round(p.wall, 2) for p in shards],
        "finish_seconds": round(finish_proc.wall, 2),
        "total_seconds": round(shards_wall + finish_proc.wall, 2),
        "one_process_seconds": round(single.wall, 2),
        "shard_peak_mib": round(max(p.rss_mib for p in shards), 1),
        "finish_peak_mib": round(finish_proc.rss_mib, 1),
        "blobs_uploaded_by_shards": uploaded,
    }


def at_proxies(proxies: Sequence[RateLimitProxy]) -> list[dict[str, Any]]:
    """What each proxy saw since its counters were reset: requests, mean and peak rate,
    refused (429 from the proxy) and failed (429, 5xx, no answer) requests."""
    per_registry = []
    for p in proxies:
        exchanges = p.requests()
        failed = [x for x in exchanges if x.status >= 500 or x.status == 429 or x.status == 0]
        per_registry.append(
            {
                "requests": len(exchanges),
                "mean_rate": round(p.mean_rate(), 1),
                "peak_rate": p.peak_rate(),
                "refused": len(p.refused()),
                "failed": len(failed),
            }
        )
        p.reset_counters()
    return per_registry


def _rate_run(proc: Proc, proxies: Sequence[RateLimitProxy], limit: int) -> dict[str, Any]:
    registries = at_proxies(proxies)
    requests = sum(r["requests"] for r in registries)
    return {
        "seconds": round(proc.wall, 2),
        "cpu_seconds": round(proc.cpu, 2),
        "cpu_ms_per_request": round(1000 * proc.cpu / max(1, requests), 2),
        "peak_mib": round(proc.rss_mib, 1),
        "registries": registries,
        "rate_over_limit": round(min(r["mean_rate"] for r in registries) / limit, 3),
    }


def rate_limited(
    root: Path,
    env: dict[str, str],
    staging: Registry,
    prods: Sequence[Registry],
    names: Sequence[str],
    limit: int,
) -> dict[str, Any]:
    """Both productions behind a proxy refusing (429) beyond ``limit`` requests a second:
    promoter's apply paced at ``limit``, then the same plan unpaced with the proxies' limit out
    of reach; last the floor (``rate_floor.py``) reading the promoted images through the same
    proxies, paced as promoter paces, then unpaced."""
    for prod in prods:
        wipe(prod)
    proxies = [RateLimitProxy(p.host, limit=limit) for p in prods]
    for proxy in proxies:
        proxy.start()
    try:
        hosts = {"staging": staging.host, "prod-a": proxies[0].host, "prod-b": proxies[1].host}
        folder = root / f"rate-{len(names)}"
        pipeline = write_project(folder, hosts, names, ["prod-a", "prod-b"], env)
        plan_file = folder / "plan.json"
        max_rps = [a for p in proxies for a in ("--max-rps", f"{p.host}={limit}")]
        print(f"rate-limited, {len(names)} images: plan ...", file=sys.stderr, flush=True)
        plan_cmd = [*PROMOTER, "plan", "-o", "json", "-f", str(pipeline), "--out", str(plan_file)]
        timed([*plan_cmd, *max_rps], env, folder, "promoter plan (rate-limited)")
        refused_in_plan = sum(len(p.refused()) for p in proxies)
        for p in proxies:
            p.reset_counters()
        print(f"rate-limited, {len(names)} images: apply ...", file=sys.stderr, flush=True)
        apply_cmd = [*PROMOTER, "apply", "-q", "-o", "json", str(plan_file)]
        applied = timed([*apply_cmd, *max_rps], env, folder, "promoter apply (rate-limited)")
        report = json.loads(applied.stdout)
        paced = _rate_run(applied, proxies, limit)
        result: dict[str, Any] = {
            "images": len(names),
            "limit": limit,
            "apply_seconds": paced["seconds"],
            "apply_peak_mib": paced["peak_mib"],
            "refused_in_plan": refused_in_plan,
            "registries": paced["registries"],
            "rate_over_limit": paced["rate_over_limit"],
            "apply_cpu_seconds": paced["cpu_seconds"],
            "apply_cpu_ms_per_request": paced["cpu_ms_per_request"],
            "promotion_ok": report["ok"],
        }
        try:
            result.update(against_floor(folder, env, prods, proxies, apply_cmd, names, result))
        except SystemExit as failure:  # keep the paced figures; say what failed after them
            result["floor_failed"] = str(failure)
        return result
    finally:
        for p in proxies:
            p.stop()


def against_floor(
    folder: Path,
    env: dict[str, str],
    prods: Sequence[Registry],
    proxies: Sequence[RateLimitProxy],
    apply_cmd: Sequence[str],
    names: Sequence[str],
    paced: dict[str, Any],
) -> dict[str, Any]:
    """After promoter's paced apply (``paced``): the same plan applied again into emptied
    registries, unpaced, the proxies' limit out of reach; then the floor, ``rate_floor.py``,
    reading the promoted images through the same proxies, as many requests per registry as
    the paced apply sent: paced as promoter paces ``--max-rps HOST=limit``, then unpaced."""
    limit = paced["limit"]
    for prod in prods:
        wipe(prod)
    for p in proxies:
        p.limit = UNLIMITED
    print(f"rate-limited, {len(names)} images: apply, unlimited ...", file=sys.stderr, flush=True)
    free = timed(apply_cmd, env, folder, "promoter apply (unlimited)")
    unlimited = {"proxy_limit": UNLIMITED, "promoter": _rate_run(free, proxies, limit)}
    (folder / "names.txt").write_text("".join(f"{n}\n" for n in names))
    per_registry = min(r["requests"] for r in paced["registries"])
    floor_cmd = [
        sys.executable, str(Path(__file__).with_name("rate_floor.py")),
        "--names", str(folder / "names.txt"), "--requests", str(per_registry),
        "--threads", str(FLOOR_THREADS), *(p.host for p in proxies),
    ]  # fmt: skip
    pace = limit / (1 + SPACING_MARGIN)  # promoter's turns are 1/limit apart, plus the margin
    for p in proxies:
        p.limit = limit
    time.sleep(1.0)  # the proxies' one-second window forgets the unlimited apply's arrivals
    print(f"rate floor: {per_registry} requests a registry, paced ...", file=sys.stderr, flush=True)
    floor = timed([*floor_cmd, "--rate", f"{pace:.3f}"], env, folder, "rate floor (paced)")
    paced_floor = {
        "threads_per_registry": FLOOR_THREADS,
        "pace": round(pace, 2),
        "requests_per_registry": per_registry,
        **_rate_run(floor, proxies, limit),
    }
    for p in proxies:
        p.limit = UNLIMITED
    print("rate floor: unpaced ...", file=sys.stderr, flush=True)
    floor = timed(floor_cmd, env, folder, "rate floor (unlimited)")
    unlimited["floor"] = _rate_run(floor, proxies, limit)
    return {"floor": paced_floor, "unlimited": unlimited}


def many_images(
    work: Path, env: dict[str, str], sizes: Sequence[int], rate_images: int
) -> dict[str, Any]:
    root = work / "many"
    staging = start_registry(root / "staging", access_log=True)
    prods = [start_registry(root / n, access_log=True) for n in ("prod-a", "prod-b")]
    try:
        largest = max([*sizes, rate_images])
        print(f"seeding {largest} images ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        names = seed_small(staging, largest)
        print(f"seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        results: list[dict[str, Any]] = []
        for n in sizes:
            try:
                one = one_size(root, env, staging, prods, names[:n], sharded=n == max(sizes))
                results.append(one.to_dict())
            except SystemExit as failure:  # a failed promoter process: say so, go on
                results.append({"images": n, "failed": str(failure)})
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
        try:
            rate = rate_limited(root, env, staging, prods, names[:rate_images], RATE_LIMIT)
        except SystemExit as failure:
            rate = {"images": rate_images, "failed": str(failure)}
        return {"sizes": results, "rate_limited": rate}
    finally:
        for r in (staging, *prods):
            r.stop()


# -- report ----------------------------------------------------------------------------------


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / MiB:.1f} MiB"


def render(result: dict[str, Any]) -> str:
    lines: list[str] = []
    checks: list[str] = []

    def check(label: str, value: float, limit: float, unit: str, at_most: bool = True) -> None:
        good = value <= limit if at_most else value >= limit
        sign = "<=" if at_most else ">="
        checks.append(
            f"{label}: {value:.3g}{unit} (target {sign} {limit:g}{unit}) {'ok' if good else 'MISSED'}"
        )

    shared = result.get("shared")
    if shared:
        unique = shared["unique_bytes"]
        rows: list[Sequence[str]] = [
            ("tool", "wall s", "peak RSS", "blob bytes up", "x unique", "requests (dest + staging)")
        ]
        for tool, r in shared["rows"].items():
            rows.append(
                (
                    tool,
                    f"{r['wall']:.2f}",
                    "-" if r["peak_mib"] is None else f"{r['peak_mib']:.0f} MiB",
                    _mib(r["uploaded_bytes"]),
                    f"{r['uploaded_bytes'] / unique:.2f}",
                    f"{r['requests_destination']} + {r['requests_staging']}",
                )
            )
        lines.append(
            f"{shared['images']} images on one {shared['base_mib']} MiB base layer -> another "
            f"registry (unique blob bytes {_mib(unique)})"
        )
        lines += [markdown_table(rows), ""]
        ours, loop = shared["rows"]["promoter"], shared["rows"]["skopeo loop"]
        check("shared base: promoter bytes up / unique", ours["uploaded_bytes"] / unique, 1.05, "x")
        check("shared base: promoter / skopeo loop wall", ours["wall"] / loop["wall"], 0.3, "x")
        fresh = shared["rows"].get("skopeo, fresh cache per copy")
        if fresh:
            check(
                "shared base: promoter / skopeo (fresh cache per copy) wall",
                ours["wall"] / fresh["wall"],
                0.3,
                "x",
            )
    many = result.get("many")
    if many:
        rows = [
            (
                "images", "plan s", "apply s", "re-run s", "peak RSS",
                "requests / image / dest", "staging req / image", "s / image",
                "apply req/s per dest", "promoter CPU s (plan + apply)",
            )
        ]  # fmt: skip
        done = [s for s in many["sizes"] if "failed" not in s]
        for s in many["sizes"]:
            if "failed" in s:
                checks.append(f"{s['images']:,} images: FAILED: {s['failed'].splitlines()[-1]}")
                continue
            rows.append(
                (
                    f"{s['images']:,}",
                    f"{s['plan_seconds']:.1f}",
                    f"{s['apply_seconds']:.1f}",
                    f"{s['rerun_seconds']:.1f}",
                    f"{s['peak_mib']:.0f} MiB",
                    f"{s['requests_per_image_and_destination']:.1f}",
                    f"{s['staging_requests_per_image']:.1f}",
                    f"{s['seconds_per_image'] * 1000:.1f} ms",
                    f"{s['apply_rate_per_registry']:.0f}",
                    f"{s['plan_cpu_seconds'] + s['apply_cpu_seconds']:.1f}",
                )
            )
        lines += ["Small images (3 layers) -> 2 production registries", markdown_table(rows), ""]
        if not done:
            done = [{"images": 0, "seconds_per_image": 1, "peak_mib": 0, "rerun_seconds": 0}]
        first, last = done[0], done[-1]
        check(
            f"time per image at {last['images']:,} / at {first['images']:,}",
            last["seconds_per_image"] / first["seconds_per_image"],
            1.2,
            "x",
        )
        check(f"peak memory at {last['images']:,} images", last["peak_mib"], 150, " MiB")
        check(f"re-run of {last['images']:,} images", last["rerun_seconds"], 20, " s")
        sharded = last.get("sharded")
        if sharded:
            lines.append(
                f"{last['images']:,} images, {sharded['shards']} shards at once + finish: "
                f"{sharded['shards_seconds']:.1f} s (shards: "
                f"{', '.join(f'{s:.1f}' for s in sharded['shard_seconds'])} s) + "
                f"{sharded['finish_seconds']:.1f} s = {sharded['total_seconds']:.1f} s; one "
                f"process: {sharded['one_process_seconds']:.1f} s; peak RSS shard "
                f"{sharded['shard_peak_mib']:.0f} MiB, finish {sharded['finish_peak_mib']:.0f} MiB"
            )
        rate = many["rate_limited"]
        if "failed" in rate:
            checks.append(f"rate-limited: FAILED: {rate['failed'].splitlines()[-1]}")
            rate = {"images": 0, "limit": RATE_LIMIT, "apply_seconds": 0, "registries": [],
                    "refused_in_plan": 0, "rate_over_limit": 0}  # fmt: skip
        parts = [
            f"{r['mean_rate']:.0f}/s (peak {r['peak_rate']} in 1 s, {r['requests']} requests, "
            f"{r['refused']} refused, {r['failed']} failed)"
            for r in rate["registries"]
        ]
        lines.append(
            f"rate-limited ({rate['limit']}/s per production registry), {rate['images']} images, "
            f"apply {rate['apply_seconds']:.1f} s: "
            + "; ".join(parts)
            + f"; refused during the plan: {rate['refused_in_plan']}"
        )
        floor, unlimited = rate.get("floor"), rate.get("unlimited")
        if floor:
            lines.append(
                f"rate floor (rate_floor.py: bare http.client, {floor['threads_per_registry']} "
                "keep-alive connections per registry, GET manifest + GET config + HEAD layers of "
                f"the promoted images, the same proxies at {rate['limit']}/s, paced at "
                f"{floor['pace']:.1f}/s as promoter paces), {floor['requests_per_registry']} "
                f"requests per registry in {floor['seconds']:.1f} s: "
                + "; ".join(
                    f"{r['mean_rate']:.0f}/s ({r['refused']} refused)" for r in floor["registries"]
                )
                + f"; CPU {floor['cpu_ms_per_request']:.2f} ms per request (promoter's apply "
                f"{rate['apply_cpu_ms_per_request']:.2f} ms)"
            )
        if unlimited:
            ours, least = unlimited["promoter"], unlimited["floor"]
            lines.append(
                f"unlimited (the same proxies at {unlimited['proxy_limit']:,}/s, no --max-rps): "
                f"promoter apply {ours['seconds']:.1f} s, "
                + " and ".join(f"{r['mean_rate']:.0f}/s" for r in ours["registries"])
                + f" ({ours['cpu_ms_per_request']:.2f} ms CPU per request); floor "
                f"{least['seconds']:.1f} s, "
                + " and ".join(f"{r['mean_rate']:.0f}/s" for r in least["registries"])
                + f" ({least['cpu_ms_per_request']:.2f} ms CPU per request)"
            )
        check("rate-limited: achieved rate / limit", rate["rate_over_limit"], 0.85, "x", False)
        if floor:
            checks.append(
                f"rate-limited: the floor's achieved rate / limit: {floor['rate_over_limit']:.3g}x "
                f"(not a target: the least a Python client reaches here; both paces allow "
                f"{floor['pace'] / rate['limit']:.3g}x)"
            )
        if unlimited:
            checks.append(
                f"unlimited, the slower registry / {rate['limit']}: promoter "
                f"{unlimited['promoter']['rate_over_limit']:.3g}x, floor "
                f"{unlimited['floor']['rate_over_limit']:.3g}x (not a target: whether "
                f"{rate['limit']}/s is reachable on this machine)"
            )
        if "floor_failed" in rate:
            checks.append(f"rate floor: FAILED: {rate['floor_failed'].splitlines()[-1]}")
        failed = sum(r["failed"] + r["refused"] for r in rate["registries"])
        failed += rate["refused_in_plan"]
        checks.append(
            f"rate-limited: failed or refused requests: {failed} (target 0) "
            f"{'ok' if failed == 0 else 'MISSED'}"
        )
    lines += ["", *(f"- {c}" for c in checks)]
    lines.append(
        f"\nload average at the start: {result.get('load_start', 0):.2f}, at the end: "
        f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the tables (and, with ``--json``, write the figures)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="20, 100, 200 images; 100 rate-limited"
    )
    parser.add_argument("--sizes", help="comma-separated image counts (default 100,500,2000)")
    parser.add_argument("--rate-images", type=int, help="images in the rate-limited case")
    parser.add_argument("--skip-shared", action="store_true", help="leave out the shared base")
    parser.add_argument("--skip-many", action="store_true", help="leave out the many images")
    parser.add_argument("--storage", metavar="DIR", help="where the registries keep their data")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    options = parser.parse_args(argv)
    for tool in ("skopeo", TIME):
        if shutil.which(tool) is None:
            print(f"{tool} is required", file=sys.stderr)
            return 2
    sizes = [int(s) for s in options.sizes.split(",")] if options.sizes else None
    sizes = sizes or ([20, 100, 200] if options.quick else [100, 500, 2000])
    rate_images = options.rate_images or (100 if options.quick else 300)
    compile_promoter()
    saved_cache = SKOPEO_CACHE.read_bytes() if SKOPEO_CACHE.exists() else None
    result: dict[str, Any] = {"load_start": os.getloadavg()[0]}
    try:
        with tempfile.TemporaryDirectory(prefix="scale-bench-", dir=options.storage) as tmp:
            work = Path(tmp)
            env = _env(work)
            if not options.skip_shared:
                result["shared"] = shared_base(work, env, 20, 50)
            if not options.skip_many:
                result["many"] = many_images(work, env, sizes, rate_images)
    finally:
        if saved_cache is not None:
            SKOPEO_CACHE.parent.mkdir(parents=True, exist_ok=True)
            SKOPEO_CACHE.write_bytes(saved_cache)
    print(render(result))
    if options.json:
        Path(options.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
