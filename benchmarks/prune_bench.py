"""Staging retention at scale: ``promoter prune`` beside a ``skopeo delete`` loop.

Seeds a staging repository of N digests (default 2,000; one tag each, created an
hour apart, plain HTTP, no promoter code), promotes 200 of them (the oldest, so
``keep_last`` does not keep them) to two production registries, and a second,
identical staging registry for skopeo. Then, side by side:

* the plan: ``promoter prune --out prune.json`` with ``keep_last: 100``: its
  requests to each registry (promoter's count, and the staging registry's own
  access log), per staging digest, and its wall time;
* the deletes: ``promoter apply prune.json`` (each digest checked again, then
  deleted) against ``skopeo delete docker://HOST/REPO@DIGEST`` of the same
  digests, one process each, in the other staging registry;
* peak memory (max RSS, GNU time) of the promoter processes.

    python benchmarks/prune_bench.py [--digests 2000] [--promoted 200] [--keep 100] [--json]

Targets: at most 2 requests per staging digest to each registry for the plan;
deletes at >= 0.8x the skopeo loop's throughput; memory under 200 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _compiled import compile_promoter  # noqa: E402  (benchmarks/, this script's folder)
from _report import markdown_table  # noqa: E402

from tests.support.images import make_image, push_http, tar_gz  # noqa: E402
from tests.support.registry import Registry, start_registry  # noqa: E402

__all__ = ["main"]

LABELS = {"org.opencontainers.image.source": "https://example.invalid/bench"}


def _pipeline(folder: Path, hosts: dict[str, str], keep: int) -> Path:
    (folder / "app").mkdir(parents=True, exist_ok=True)
    (folder / "app" / "Dockerfile").write_text("FROM scratch\n")
    lines = ["version: 1", "registries:"]
    for alias, host in hosts.items():
        lines += [f"  {alias}:", f"    host: {host}", "    insecure: true"]
    lines += [
        "images:",
        "  web:",
        "    build: {context: app}",
        "    staging: staging/web",
        "    promote:",
        "      - to: [prod-a/web, prod-b/web]",
        "        tags: [v1]",
        "        when: always",
        f"retention:\n  keep_last: {keep}",
    ]
    (folder / "pipeline.yml").write_text("\n".join(lines) + "\n")
    return folder / "pipeline.yml"


def _seed(staging: list[Registry], prods: list[Registry], count: int, promoted: int) -> None:
    """``count`` images tagged ``b0000``...; the ``promoted`` oldest also in every prod."""
    layer = tar_gz({"hello.txt": b"hello\n"})
    now = datetime.now(timezone.utc)

    def push(i: int) -> None:
        created = (now - timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        image = make_image(layers=[layer], seed=i, labels=LABELS, created=created)
        for registry in staging:
            push_http(image, registry.url, "web", f"b{i:04d}")
        if i >= count - promoted:
            for registry in prods:
                push_http(image, registry.url, "web")

    push(0)  # the shared layer first, once into each registry (no two uploads of it race)
    push(count - 1)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(push, range(1, count - 1)))


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, int, str, int]:
    """Wall time, max RSS (KiB), stdout and exit code of ``args`` under GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *args],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        kib = int(rss.read().strip().splitlines()[-1])
    if done.returncode not in (0, 1):
        raise SystemExit(f"{args[:4]} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, kib, done.stdout, done.returncode


def _skopeo_loop(registry: Registry, digests: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    for digest in digests:
        subprocess.run(
            ["skopeo", "delete", "--tls-verify=false", f"docker://{registry.host}/web@{digest}"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    return time.perf_counter() - started


def _measure(work: Path, registries: dict[str, Registry], options: Any) -> dict[str, Any]:
    env = {**os.environ, "HOME": str(work / "home"), "XDG_DATA_HOME": str(work / "xdg")}
    hosts = {a: registries[a].host for a in ("staging", "prod-a", "prod-b")}
    pipeline = _pipeline(work / "project", hosts, options.keep)
    plan_file = work / "prune.json"
    promoter = [sys.executable, "-m", "promoter"]
    staging = registries["staging"]
    logged = len(staging.requests())
    plan_args = [*promoter, "prune", "-f", str(pipeline), "-o", "json", "--out", str(plan_file)]
    plan_wall, plan_rss, out, _ = _timed(plan_args, env)
    plan = json.loads(out)
    plan_logged = len(staging.requests()) - logged
    digests = [entry["digest"] for entry in plan["delete"]]
    apply_wall, apply_rss, out, code = _timed(
        [*promoter, "apply", str(plan_file), "-o", "json"], env
    )
    applied = json.loads(out)["applied"]
    assert code == 0 and len(applied["deleted"]) == len(digests), applied["skipped"][:3]
    skopeo = _skopeo_loop(registries["skopeo"], digests, env)
    seen = plan["stagingDigests"]
    asked = {r["host"]: r["count"] for r in plan["requests"]}
    return {
        "digests": seen,
        "deleted": len(digests),
        "kept": len(plan["keep"]),
        "plan_seconds": round(plan_wall, 3),
        "plan_requests": asked,
        "plan_staging_access_log": plan_logged,
        "plan_staging_per_digest": round(asked[staging.host] / seen, 3),
        "plan_prod_per_digest": round(asked[hosts["prod-a"]] / seen, 3),
        "plan_rss_mib": round(plan_rss / 1024, 1),
        "apply_seconds": round(apply_wall, 3),
        "apply_delete_seconds": applied["seconds"],
        "apply_requests": {r["host"]: r["count"] for r in applied["requests"]},
        "apply_rss_mib": round(apply_rss / 1024, 1),
        "skopeo_seconds": round(skopeo, 3),
        "throughput_ratio": round(skopeo / apply_wall, 2),
        "load_average": os.getloadavg(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


def run(options: Any) -> dict[str, Any]:
    """Start the registries, seed, measure; the figures as a dict."""
    with tempfile.TemporaryDirectory(prefix="prune-bench-", dir=options.storage) as tmp:
        work = Path(tmp)
        registries = {
            "staging": start_registry(work / "staging", access_log=True),
            "skopeo": start_registry(work / "skopeo"),
            "prod-a": start_registry(work / "prod-a"),
            "prod-b": start_registry(work / "prod-b"),
        }
        try:
            started = time.perf_counter()
            _seed(
                [registries["staging"], registries["skopeo"]],
                [registries["prod-a"], registries["prod-b"]],
                options.digests,
                options.promoted,
            )
            seeded = time.perf_counter() - started
            return {**_measure(work, registries, options), "seed_seconds": round(seeded, 1)}
        finally:
            for registry in registries.values():
                registry.stop()


def _table(r: dict[str, Any]) -> str:
    plan_total = sum(r["plan_requests"].values())
    apply_total = sum(r["apply_requests"].values())
    rows = [
        ["step", "promoter", "skopeo delete loop", "note"],
        [
            f"plan ({r['digests']} staging digests, {r['kept']} kept)",
            f"{r['plan_seconds']:.2f} s, {plan_total} requests",
            "-",
            f"{r['plan_staging_per_digest']} req/digest to staging, "
            f"{r['plan_prod_per_digest']} to prod-a (target <= 2)",
        ],
        [
            f"delete {r['deleted']} digests",
            f"{r['apply_seconds']:.2f} s, {apply_total} requests",
            f"{r['skopeo_seconds']:.2f} s",
            f"throughput {r['throughput_ratio']}x skopeo's (target >= 0.8)",
        ],
        [
            "peak memory (max RSS)",
            f"plan {r['plan_rss_mib']} MiB, apply {r['apply_rss_mib']} MiB",
            "-",
            "target < 200 MiB",
        ],
    ]
    load = ", ".join(f"{v:.2f}" for v in r["load_average"])
    return markdown_table(rows) + f"\n\n{r['date']}, load average {load}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digests", type=int, default=2000)
    parser.add_argument("--promoted", type=int, default=200)
    parser.add_argument("--keep", type=int, default=100)
    parser.add_argument("--storage", metavar="DIR", help="where the registries keep blobs")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    compile_promoter()
    result = run(options)
    print(json.dumps(result, indent=2) if options.json else _table(result))
    if not options.json:
        print(
            f"staging access log during the plan: {result['plan_staging_access_log']} requests; "
            f"deletes in the apply process: {result['apply_delete_seconds']:.2f} s; "
            f"seeding took {result['seed_seconds']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
