"""Re-run benchmark: a copy with nothing to do, promoter against skopeo and a floor.

Seeds two local registries with a 2-platform index, copies it once, then times,
side by side in one run: ``skopeo copy --all`` of the index (the destination has
it), ``promoter copy`` of the same (nothing to do), the least process that makes
promoter's requests (``least_rerun.py``: the standard library's ``http.client``),
the same with the TLS probe ``--insecure-registry`` asks for (a second floor, shown
beside the first: the target is against the first), that probing floor started as
promoter now starts (``least_rerun.py --tuned``: its collector setting, host names as
bytes; a third floor, beside), promoter without its start cache (``PROMOTER_NO_START_CACHE=1``, a row
beside), and a bare interpreter. Rounds alternate the tools, so a change in the machine's
load falls on all of them; the table shows the best and the median of the rounds. With
``--instructions`` it also counts each tool's instructions in one run under valgrind (all
but skopeo): a figure the machine's noise does not move.

It also counts each tool's requests (one run through the counting proxy of
``tests/support/fault_proxy.py``), splits promoter's time (interpreter start,
imports by top package from ``-X importtime``, process start to first request,
the requests, last request to exit), reads the peak memory of one run of each
under GNU time, and measures the CPU of copy's imports with each HTTP stack
(httpx as promoter loads it, or ``http.client`` and ``ssl``): the most a
transport on the standard library could save at start-up.

    .venv/bin/python benchmarks/rerun_bench.py [--runs 15] [--instructions] [--json FILE]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _compiled import compile_promoter  # noqa: E402  (benchmarks/, this script's folder)
from _report import markdown_table  # noqa: E402

from tests.support.fault_proxy import FaultProxy  # noqa: E402
from tests.support.images import make_platform_index, push_http  # noqa: E402
from tests.support.registry import start_registry  # noqa: E402

MiB = 1 << 20
SKOPEO_CACHE = Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb")
TIME = shutil.which("time") or "/usr/bin/time"
SKOPEO_REFERENCE_S = 0.066  # issue #24: skopeo's re-run on a quiet machine
LEAST = [sys.executable, str(Path(__file__).resolve().parent / "least_rerun.py")]

#: Top packages of ``-X importtime``, grouped as the issue names them; the rest is "other".
IMPORT_GROUPS: dict[str, tuple[str, ...]] = {
    "click": ("click",),
    "httpx/httpcore/h11": ("httpx", "httpcore", "h11", "anyio", "sniffio", "idna"),
    "ssl/certifi": ("ssl", "_ssl", "certifi", "truststore"),
    "yaml": ("yaml", "_yaml"),
    "jsonschema": ("jsonschema", "jsonschema_specifications", "referencing", "rpds", "attrs"),
    "rich/pygments": ("rich", "pygments", "markdown_it", "mdurl"),
    "docker/git/cryptography": ("docker", "git", "gitdb", "cryptography", "requests"),
    "logging": ("logging",),
    "promoter": ("promoter",),
}

Argv = Callable[[str, str], list[str]]
BEFORE = "promoter copy, before"
#: promoter without its start cache (``promoter.cli.startcache``): a row beside.
NO_CACHE = "promoter copy, no start cache"
#: The environment a tool runs with, beyond this process's.
TOOL_ENV: dict[str, dict[str, str]] = {NO_CACHE: {"PROMOTER_NO_START_CACHE": "1"}}
#: The least process, with the TLS probe --insecure-registry asks for (a second floor).
LEAST_PROBING = "least process + TLS probe"
#: The same, started as promoter starts (a third floor, beside the first).
LEAST_TUNED = "least + TLS probe, tuned"


def _promoter() -> list[str]:
    """The console script a user runs (``python -m promoter`` when there is none)."""
    script = Path(sys.executable).parent / "promoter"
    return [str(script)] if script.exists() else [sys.executable, "-m", "promoter"]


def tools(before: Path | None = None) -> dict[str, Argv]:
    """Each tool's command for (source host, destination host); with ``before``, also
    promoter from that source tree (a folder holding ``promoter/``)."""
    promoter = _promoter()

    def promoter_copy(src: str, dst: str, promoter: list[str] = promoter) -> list[str]:
        return [*promoter, "copy", "-q", "-o", "json", "--insecure-registry", src,
                "--insecure-registry", dst, f"{src}/src/multi:1", f"{dst}/dst/img:1"]  # fmt: skip

    def skopeo_copy(src: str, dst: str) -> list[str]:
        return ["skopeo", "copy", "-q", "--all", "--preserve-digests", "--src-tls-verify=false",
                "--dest-tls-verify=false", f"docker://{src}/src/multi:1",
                f"docker://{dst}/dst/img:1"]  # fmt: skip

    found: dict[str, Argv] = {
        "skopeo copy": skopeo_copy,
        "promoter copy": promoter_copy,
        NO_CACHE: promoter_copy,
    }
    if before is not None:
        # The tree's own process entry when it has one (its collector setting), else the CLI's.
        start = (
            "from promoter.cli.entry import main; main()"
            if (before / "promoter" / "cli" / "entry.py").exists()
            else "from promoter.cli.main import main; sys.exit(main())"
        )
        entry = (
            f"import sys; sys.path.insert(0, {str(before)!r}); sys.argv[0] = 'promoter'; {start}"
        )
        old = [sys.executable, "-c", entry]
        found[BEFORE] = lambda s, d: promoter_copy(s, d, old)
    return {
        **found,
        "least process (http.client)": lambda s, d: [*LEAST, f"{s}/src/multi:1", f"{d}/dst/img:1"],
        LEAST_PROBING: lambda s, d: [*LEAST, "--probe-tls", f"{s}/src/multi:1", f"{d}/dst/img:1"],
        LEAST_TUNED: lambda s, d: [
            *LEAST,
            "--probe-tls",
            "--tuned",
            f"{s}/src/multi:1",
            f"{d}/dst/img:1",
        ],
        "python -c pass": lambda s, d: [sys.executable, "-c", "pass"],
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds of one run, and its stderr; a failed run stops the benchmark."""
    if argv[0] == "skopeo":
        SKOPEO_CACHE.unlink(missing_ok=True)  # a fresh runner, as copy_bench.py runs skopeo
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, check=False, env={**os.environ, **(env or {})}, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-400:]}")
    return wall, _children_cpu() - cpu, done.stderr


def peak_rss_mib(argv: Sequence[str], env: dict[str, str] | None = None) -> float:
    """The peak RSS of one run, from GNU time."""
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run([TIME, "-q", "-f", "%M", "-o", report.name, *argv], capture_output=True,
                       check=True, env={**os.environ, **(env or {})})  # fmt: skip
        return int(report.read().split()[-1]) / 1024


def timed_rounds(commands: dict[str, list[str]], runs: int) -> dict[str, dict[str, list[float]]]:
    """``runs`` rounds; each round runs every command once, the order rotated per round."""
    names = list(commands)
    times: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in names}
    for name in names:  # warm the page cache, skopeo's binary, promoter's start cache
        run_once(commands[name], TOOL_ENV.get(name))
    for r in range(runs):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            wall, cpu, _ = run_once(commands[name], TOOL_ENV.get(name))
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
    return times


def import_split(argv: list[str], runs: int) -> dict[str, float]:
    """Seconds of import per group (self times of ``-X importtime``), the least of ``runs``."""
    best: dict[str, float] = {}
    line = re.compile(r"import time:\s+(\d+) \|\s+\d+ \| \s*([\w.]+)")
    for _ in range(runs):
        _, _, stderr = run_once(argv, env={"PYTHONPROFILEIMPORTTIME": "1"})
        groups: dict[str, float] = {}
        for match in line.finditer(stderr):
            top = match[2].split(".")[0]
            group = next((g for g, tops in IMPORT_GROUPS.items() if top in tops), "other")
            groups[group] = groups.get(group, 0.0) + int(match[1]) / 1e6
        groups["all imports"] = sum(groups.values())
        for match in line.finditer(stderr):  # the largest of "other", by top package
            top = match[2].split(".")[0]
            if not any(top in tops for tops in IMPORT_GROUPS.values()):
                groups[f"other: {top}"] = groups.get(f"other: {top}", 0.0) + int(match[1]) / 1e6
        for group, seconds in groups.items():
            best[group] = min(best.get(group, seconds), seconds)
    return best


#: What ``copy`` imports, its transport on ``http.client`` included; then the same with
#: httpx, httpcore and h11 on top (what the transport before 2026-12-07 loaded, without
#: httpx's command-line client); each process ends with ``os._exit`` as promoter's does
#: (``promoter.cli.fastexit``).
_COPY_IMPORTS = (
    "import os, sys, types, promoter.cli.main, promoter.cli.commands.copy, "
    "promoter.cli.progress, promoter.transfer, promoter.registry.transport.connections"
)
_END = "; os._exit(0)"
HTTP_STACKS = {
    "promoter's transport (http.client + ssl)": _COPY_IMPORTS + _END,
    "the same + httpx, httpcore, h11 (the transport before)": (
        f"{_COPY_IMPORTS}; sys.modules['httpx._main'] = types.ModuleType('httpx._main'); "
        "import httpx, httpcore" + _END
    ),
}


def http_stack_cpu(runs: int) -> dict[str, float]:
    """CPU seconds (the least of ``runs``, alternated) of copy's imports with each HTTP
    stack: what the transport on ``http.client`` saves at start-up."""
    best: dict[str, float] = {}
    for _ in range(runs):
        for name, statement in HTTP_STACKS.items():
            _, cpu, _ = run_once([sys.executable, "-c", statement])
            best[name] = min(best.get(name, cpu), cpu)
    return best


def request_split(argv: list[str], proxies: Sequence[FaultProxy], runs: int) -> dict[str, float]:
    """promoter's run through the proxies: process start to first request, first to last
    request, last request to exit (the run with the least wall time of ``runs``)."""
    best: dict[str, float] = {}
    for _ in range(runs):
        for proxy in proxies:
            proxy.reset_counters()
        started = time.monotonic()
        run_once(argv)
        ended = time.monotonic()
        seen = sorted(e.started for p in proxies for e in p.exchanges())
        split = {
            "start to first request": seen[0] - started,
            "first to last request": seen[-1] - seen[0],
            "last request to exit": ended - seen[-1],
            "whole": ended - started,
        }
        if not best or split["whole"] < best["whole"]:
            best = split
    return best


def count_requests(
    argv: list[str], proxies: Sequence[FaultProxy], env: dict[str, str] | None = None
) -> list[str]:
    """The requests of one run through the proxies, as ``METHOD path``."""
    for proxy in proxies:
        proxy.reset_counters()
    run_once(argv, env)
    return [f"{e.method} {e.path} {e.status}" for p in proxies for e in p.exchanges()]


def seed(work: Path) -> tuple[list[object], list[FaultProxy], str, str]:
    """Two registries (and a counting proxy before each); the index in the source, copied once."""
    source, other = start_registry(work / "registry-a"), start_registry(work / "registry-b")
    proxies = [FaultProxy(source.host).start(), FaultProxy(other.host).start()]
    index = make_platform_index(seed="bench-index", layer_sizes=[4 * MiB, 2 * MiB, MiB])
    push_http(index, source.url, "src/multi", "1")
    run_once(tools()["promoter copy"](source.host, other.host))  # the destination has it now
    return [source, other], proxies, source.host, other.host


def instruction_counts(commands: dict[str, list[str]]) -> dict[str, int]:
    """Instructions of one run of each tool but skopeo (valgrind runs Go poorly), under
    valgrind with a fixed hash seed: the same count run after run, on a noisy machine too."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    counts: dict[str, int] = {}
    for name, argv in commands.items():
        if name == "skopeo copy":
            continue
        done = subprocess.run(
            [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
             *argv],
            capture_output=True, text=True, check=False,
            env={**os.environ, "PYTHONHASHSEED": "0", **TOOL_ENV.get(name, {})},
        )  # fmt: skip
        found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"valgrind {' '.join(argv)} exited {done.returncode}: "
                             f"{done.stderr[-400:]}")  # fmt: skip
        counts[name] = int(found[1].replace(",", ""))
    return counts


def instruction_rows(counts: dict[str, int]) -> list[list[str]]:
    """The instruction counts, against the least process and the probing one."""
    least, probing = counts["least process (http.client)"], counts[LEAST_PROBING]
    rows = [["tool (one run under valgrind)", "instructions", "/ least", "/ least + TLS probe"]]
    for name, count in counts.items():
        rows.append([name, f"{count / 1e6:.1f} M", f"{count / least:.3f}x",
                     f"{count / probing:.3f}x"])  # fmt: skip
    return rows


def report(
    times: dict[str, dict[str, list[float]]],
    rss: dict[str, float],
    requests: dict[str, list[str]],
) -> list[list[str]]:
    """The side-by-side table (best and median of the rounds)."""
    best = {n: min(t["wall"]) for n, t in times.items()}
    rows = [["tool", "best wall s", "median wall s", "best CPU s", "peak RSS", "requests",
             "/ skopeo", "/ least"]]  # fmt: skip
    for name, t in times.items():
        rows.append([
            name, f"{best[name]:.3f}", f"{statistics.median(t['wall']):.3f}",
            f"{min(t['cpu']):.3f}", f"{rss[name]:.0f} MiB",
            str(len(requests[name])) if name in requests else "-",
            f"{best[name] / best['skopeo copy']:.2f}x",
            f"{best[name] / best['least process (http.client)']:.2f}x",
        ])  # fmt: skip
    return rows


def split_rows(
    interpreter: float,
    imports: dict[str, float],
    requests: dict[str, float],
    stacks: dict[str, float],
) -> list[list[str]]:
    """promoter's time, taken apart."""
    rows = [["part of promoter copy (nothing to do)", "seconds"]]
    rows.append(["interpreter start (`python -c pass`, best)", f"{interpreter:.3f}"])
    for group, seconds in sorted(imports.items(), key=lambda kv: -kv[1]):
        if group != "all imports" and not group.startswith("other: "):
            rows.append([f"imports: {group}", f"{seconds:.3f}"])
    largest = sorted((kv for kv in imports.items() if kv[0].startswith("other: ")),
                     key=lambda kv: -kv[1])[:6]  # fmt: skip
    rows.append(
        ["imports: largest of other", ", ".join(f"{g[7:]} {s * 1000:.1f} ms" for g, s in largest)]
    )
    rows.append(
        ["imports: all (`-X importtime`, self times summed)", f"{imports['all imports']:.3f}"]
    )
    for part, seconds in requests.items():
        rows.append([f"through the proxies: {part}", f"{seconds:.3f}"])
    for stack, seconds in stacks.items():
        rows.append([f"CPU, copy's imports with {stack}", f"{seconds:.3f}"])
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument(
        "--before",
        metavar="DIR",
        type=Path,
        help="also time promoter from the source tree DIR (DIR/promoter), in the same rounds",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each tool's instructions under valgrind (steady where times are not)",
    )
    args = parser.parse_args(argv)
    compile_promoter()
    if args.before is not None:
        compileall.compile_dir(str(args.before / "promoter"), quiet=1)
    if shutil.which("skopeo") is None:
        print("skopeo is required", file=sys.stderr)
        return 2
    saved_cache = SKOPEO_CACHE.read_bytes() if SKOPEO_CACHE.exists() else None
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="rerun-bench-"))
    registries: list[object] = []
    proxies: list[FaultProxy] = []
    try:
        registries, proxies, src, dst = seed(work)
        psrc, pdst = proxies[0].host, proxies[1].host
        commands = {name: argv_of(src, dst) for name, argv_of in tools(args.before).items()}
        print(f"timing {args.runs} alternated rounds ...", file=sys.stderr, flush=True)
        times = timed_rounds(commands, args.runs)
        rss = {
            name: peak_rss_mib(command, TOOL_ENV.get(name)) for name, command in commands.items()
        }
        instructions = instruction_counts(commands) if args.instructions else {}
        requests = {
            name: count_requests(argv_of(psrc, pdst), proxies, TOOL_ENV.get(name))
            for name, argv_of in tools(args.before).items()
            if name != "python -c pass"
        }
        promoter = tools()["promoter copy"]
        imports = import_split(promoter(src, dst), max(3, args.runs // 3))
        split = request_split(promoter(psrc, pdst), proxies, max(3, args.runs // 3))
        stacks = http_stack_cpu(args.runs)
    finally:
        for proxy in proxies:
            proxy.stop()
        for registry in registries:
            registry.stop()  # type: ignore[attr-defined]
        shutil.rmtree(work, ignore_errors=True)
        if saved_cache is not None:
            SKOPEO_CACHE.parent.mkdir(parents=True, exist_ok=True)
            SKOPEO_CACHE.write_bytes(saved_cache)
    load_end = os.getloadavg()[0]
    print(markdown_table(report(times, rss, requests)))
    print()
    interpreter = min(times["python -c pass"]["wall"])
    print(markdown_table(split_rows(interpreter, imports, split, stacks)))
    print()
    if instructions:
        print(markdown_table(instruction_rows(instructions)))
        print()
    best = {n: min(t["wall"]) for n, t in times.items()}
    ours = best["promoter copy"]
    checks = [
        ("promoter / skopeo (best wall)", ours / best["skopeo copy"], 2.0),
        (f"promoter / skopeo's {SKOPEO_REFERENCE_S} s on a quiet machine", ours / SKOPEO_REFERENCE_S, 2.0),
        ("promoter / the least process", ours / best["least process (http.client)"], 1.2),
        ("promoter / the least process with the TLS probe (beside)", ours / best[LEAST_PROBING], 1.2),
        ("promoter / the same, started as promoter starts (beside)", ours / best[LEAST_TUNED], 1.2),
        ("promoter peak RSS, MiB", rss["promoter copy"], 64.0),
    ]  # fmt: skip
    if instructions:
        least_count = instructions["least process (http.client)"]
        checks.append(("promoter / the least process, instructions (beside)",
                       instructions["promoter copy"] / least_count, 1.2))  # fmt: skip
    for label, value, limit in checks:
        print(
            f"- {label}: {value:.2f} (target <= {limit:g}) {'ok' if value <= limit else 'MISSED'}"
        )
    if BEFORE in times:
        now, then = times["promoter copy"], times[BEFORE]
        print(
            f"- promoter now / before: best wall {ours / best[BEFORE]:.2f}, median wall "
            f"{statistics.median(now['wall']) / statistics.median(then['wall']):.2f}, "
            f"best CPU {min(now['cpu']) / min(then['cpu']):.2f}"
        )
    cached, uncached = times["promoter copy"], times[NO_CACHE]
    print(
        f"- promoter with / without its start cache: best wall {ours / best[NO_CACHE]:.2f}, "
        f"median wall {statistics.median(cached['wall']) / statistics.median(uncached['wall']):.2f}, "
        f"best CPU {min(cached['cpu']) / min(uncached['cpu']):.2f}"
    )
    for name, seen in requests.items():
        methods = sorted({line.split(" ")[0] for line in seen})
        by_method = [f"{m} x{sum(1 for x in seen if x.startswith(m + ' '))}" for m in methods]
        shown = seen if len(seen) <= 8 else by_method
        print(f"- requests of {name} ({len(seen)}): " + "; ".join(shown))
    print(f"\nload average (1 min): {load_start:.2f} at the start, {load_end:.2f} at the end "
          f"({os.cpu_count()} CPUs)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({
            "times": times, "peak_rss_mib": rss, "requests": requests, "imports": imports,
            "split": split, "http_stacks": stacks, "load": [load_start, load_end],
            "instructions": instructions,
        }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
