"""Requests per promotion (issue #24): a shared-base fleet and a 2-platform index, against skopeo.

The shared-base mode of ``scale_bench.py`` at the issue's size, with requests sorted
by kind. Two workloads, each on its own Debian ``docker-registry`` processes on
loopback ports:

1. **Fleet.** 20 images on one 20 MiB base layer (plus one small layer each) in
   staging, promoted to another registry by ``promoter run --stage check,promote``
   (policy check, copy, verify, tag, promotion record), against a ``skopeo copy --all
   --preserve-digests`` loop that keeps its blob-info cache across the loop (emptied
   once, at its start).
2. **Index.** A 2-platform index (layers of 4, 2 and 1 MiB per platform) copied to
   another registry: ``promoter copy`` against ``skopeo copy --all --preserve-digests``.

Wall time is the best of ``--rounds`` alternated rounds (promoter, then skopeo), each
into emptied destination registries. Requests come from one more run of each tool
into fresh registries through the counting proxy (``tests/support/fault_proxy.py``),
so the proxy never slows a timed run; they are sorted by kind (``_kinds.py``) for
the destination and the source, in total and per image.

    .venv/bin/python benchmarks/fleet_bench.py [--rounds 3] [--index-rounds 11] [--images 20] [--base-mib 20]
        [--storage /dev/shm] [--json out.json]

Targets (issue #24): fleet requests <= 1.2x skopeo's, fleet wall <= 1.0x the skopeo
loop; the index copy's wall <= 1.2x skopeo's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _compiled import compile_promoter  # noqa: E402  (benchmarks/, this script's folder)
from _kinds import classify, kinds_table  # noqa: E402
from _report import markdown_table  # noqa: E402
from scale_bench import (  # noqa: E402
    PROMOTER,
    SKOPEO_CACHE,
    _env,
    run_args,
    shared_base_images,
    skopeo_loop,
    store_image,
    timed,
    wipe,
    write_project,
)

from tests.support.fault_proxy import FaultProxy  # noqa: E402
from tests.support.images import (  # noqa: E402
    Image,
    make_platform_index,
    push_http,
)
from tests.support.registry import Registry, start_registry  # noqa: E402

__all__ = ["main"]

MiB = 1 << 20


def _digests(images: Sequence[Image]) -> set[str]:
    known: set[str] = set()
    for image in images:
        known.add(image.digest)
        known.update(image.blobs)
        known.update(_digests(image.children))
    return known


def _counts(proxy: FaultProxy, known: set[str], destination: bool) -> dict[str, int]:
    return dict(classify(proxy.exchanges(), known, destination=destination))


class _Bench:
    """Registries and proxies of one workload, stopped at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.registries: list[Registry] = []
        self.proxies: list[FaultProxy] = []

    def registry(self, name: str) -> Registry:
        self.registries.append(start_registry(self.root / name))
        return self.registries[-1]

    def proxy(self, target: Registry) -> FaultProxy:
        self.proxies.append(FaultProxy(target.host).start())
        return self.proxies[-1]

    def close(self) -> None:
        for p in self.proxies:
            p.stop()
        for r in self.registries:
            r.stop()


def _best(
    rounds: int, tools: dict[str, Callable[[], float]], reset: Callable[[], None]
) -> dict[str, list[float]]:
    walls: dict[str, list[float]] = {name: [] for name in tools}
    for n in range(rounds):
        for name, measure in tools.items():
            print(f"  round {n + 1}: {name} ...", file=sys.stderr, flush=True)
            reset()
            walls[name].append(round(measure(), 3))
    return walls


def fleet(
    work: Path, env: dict[str, str], count: int, base_mib: int, rounds: int
) -> dict[str, Any]:
    """Workload 1: ``count`` images on one ``base_mib`` MiB base, staging -> prod."""
    bench = _Bench(work / "fleet")
    names = [f"app-{i:02d}" for i in range(count)]
    images = shared_base_images(count, base_mib, "fleet")
    known = _digests(images)
    try:
        staging = bench.registry("staging")
        for name, image in zip(names, images, strict=True):
            store_image(staging, name, image, "bench")
        del images
        prod, theirs = bench.registry("prod"), bench.registry("skopeo")

        def promoter(source: str, target: str, folder: str) -> float:
            hosts = {"staging": source, "prod": target}
            pipeline = write_project(work / "fleet" / folder, hosts, names, ["prod"], env)
            proc = timed(run_args(pipeline), env, pipeline.parent, "promoter run")
            summary = json.loads(proc.stdout)["plan"]["summary"]
            assert summary.get("copy") == count, summary
            return proc.wall

        def reset() -> None:
            wipe(prod)
            wipe(theirs)

        walls = _best(
            rounds,
            {
                "promoter": lambda: promoter(staging.host, prod.host, "timed"),
                "skopeo loop": lambda: skopeo_loop(staging.host, theirs.host, names, env, False),
            },
            reset,
        )
        staging_proxy = bench.proxy(staging)
        requests: dict[str, dict[str, dict[str, int]]] = {}
        for name in walls:
            print(f"  counted: {name} ...", file=sys.stderr, flush=True)
            staging_proxy.reset_counters()
            destination = bench.proxy(bench.registry(f"counted-{len(requests)}"))
            if name == "promoter":
                promoter(staging_proxy.host, destination.host, "counted")
            else:
                skopeo_loop(staging_proxy.host, destination.host, names, env, False)
            requests[name] = {
                "destination": _counts(destination, known, True),
                "source": _counts(staging_proxy, known, False),
            }
        return {"images": count, "base_mib": base_mib, "walls": walls, "requests": requests}
    finally:
        bench.close()


def index_copy(work: Path, env: dict[str, str], rounds: int) -> dict[str, Any]:
    """Workload 2: a 2-platform index to another registry, ``promoter copy`` vs skopeo."""
    bench = _Bench(work / "index")
    index = make_platform_index(seed="fleet-index", layer_sizes=[4 * MiB, 2 * MiB, MiB])
    known = _digests([index])
    try:
        source = bench.registry("source")
        push_http(index, source.url, "src/multi", "1")
        target = bench.registry("target")

        def promoter(src: str, dst: str) -> float:
            argv = [*PROMOTER, "copy", "-q", "-o", "json"]
            argv += ["--insecure-registry", src, "--insecure-registry", dst]
            return timed(
                [*argv, f"{src}/src/multi:1", f"{dst}/app/multi:1"], env, work, "copy"
            ).wall

        def skopeo(src: str, dst: str) -> float:
            SKOPEO_CACHE.unlink(missing_ok=True)
            argv = ["skopeo", "copy", "--quiet", "--all", "--preserve-digests"]
            argv += ["--src-tls-verify=false", "--dest-tls-verify=false"]
            argv += [f"docker://{src}/src/multi:1", f"docker://{dst}/app/multi:1"]
            return timed(argv, env, work, "skopeo copy").wall

        tools = {"promoter": promoter, "skopeo": skopeo}
        walls = _best(
            rounds,
            {name: (lambda f=f: f(source.host, target.host)) for name, f in tools.items()},
            lambda: wipe(target),
        )
        source_proxy = bench.proxy(source)
        requests: dict[str, dict[str, dict[str, int]]] = {}
        for name, measure in tools.items():
            source_proxy.reset_counters()
            destination = bench.proxy(bench.registry(f"counted-{name}"))
            measure(source_proxy.host, destination.host)
            requests[name] = {
                "destination": _counts(destination, known, True),
                "source": _counts(source_proxy, known, False),
            }
        return {"walls": walls, "requests": requests}
    finally:
        bench.close()


def _total(counts: dict[str, dict[str, int]]) -> int:
    return sum(sum(side.values()) for side in counts.values())


def render(result: dict[str, Any]) -> str:
    lines: list[str] = []
    checks: list[str] = []

    def check(label: str, value: float, limit: float) -> None:
        ok = "ok" if value <= limit else "MISSED"
        checks.append(f"{label}: {value:.3g}x (target <= {limit:g}x) {ok}")

    for key, title, per, ours, theirs, limits in (
        ("fleet", "fleet", "images", "promoter", "skopeo loop", (1.0, 1.2)),
        ("index", "2-platform index across registries", None, "promoter", "skopeo", (1.2, None)),
    ):
        doc = result.get(key)
        if not doc:
            continue
        count = doc["images"] if per else 1
        walls, requests = doc["walls"], doc["requests"]
        heading = f"{title}" + (
            f": {count} images on one {doc['base_mib']} MiB base" if per else ""
        )
        rows: list[Sequence[str]] = [("tool", "best wall s", "all rounds", "requests")]
        for name in walls:
            rows.append(
                (
                    name,
                    f"{min(walls[name]):.2f}",
                    ", ".join(f"{w:.2f}" for w in walls[name]),
                    str(_total(requests[name])),
                )
            )
        lines += [heading, "", markdown_table(rows), ""]
        columns: dict[str, dict[str, int]] = {}
        for name in requests:
            for side in ("destination", "source"):
                columns[f"{name} {side}"] = requests[name][side]
        lines += [markdown_table(kinds_table(columns, count)), ""]
        check(
            f"{title}: promoter / {theirs} wall", min(walls[ours]) / min(walls[theirs]), limits[0]
        )
        if limits[1] is not None:
            ratio = _total(requests[ours]) / _total(requests[theirs])
            check(f"{title}: promoter / {theirs} requests", ratio, limits[1])
    lines += [f"- {c}" for c in checks]
    lines.append(
        f"\nload average at the start: {result['load_start']:.2f}, at the end: "
        f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the tables (and, with ``--json``, write the figures)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternated timed rounds")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--base-mib", type=int, default=20)
    parser.add_argument("--skip-index", action="store_true", help="leave out the index copy")
    parser.add_argument(
        "--index-rounds",
        type=int,
        help="alternated rounds of the index copy (default: --rounds); a copy of 0.2 s "
        "wants more rounds than the fleet for a steady best",
    )
    parser.add_argument("--storage", metavar="DIR", help="where the registries keep their data")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    options = parser.parse_args(argv)
    for tool in ("skopeo", "/usr/bin/time"):
        if shutil.which(tool) is None:
            print(f"{tool} is required", file=sys.stderr)
            return 2
    compile_promoter()
    saved_cache = SKOPEO_CACHE.read_bytes() if SKOPEO_CACHE.exists() else None
    result: dict[str, Any] = {"load_start": os.getloadavg()[0], "started": time.time()}
    try:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-", dir=options.storage) as tmp:
            work = Path(tmp)
            env = _env(work)
            print("fleet ...", file=sys.stderr, flush=True)
            result["fleet"] = fleet(work, env, options.images, options.base_mib, options.rounds)
            if not options.skip_index:
                print("index ...", file=sys.stderr, flush=True)
                rounds = options.index_rounds or options.rounds
                result["index"] = index_copy(work, env, rounds)
    finally:
        if saved_cache is not None:
            SKOPEO_CACHE.parent.mkdir(parents=True, exist_ok=True)
            SKOPEO_CACHE.write_bytes(saved_cache)
    result["load_end"] = os.getloadavg()[0]
    print(render(result))
    if options.json:
        Path(options.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
