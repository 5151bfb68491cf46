"""Cold start of the CLI, side by side with a bare interpreter.

Runs each command N times in a fresh process and prints the median wall
time (and the fastest), so a regression in import time shows at once:

    python benchmarks/cold_start.py [--runs 15] [--json]

Target on the reference machine: ``promoter --help`` under 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _compiled import compile_promoter  # benchmarks/, the script's own folder

__all__ = ["main", "measure"]

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart" / "pipeline.yml"
TARGET_HELP_SECONDS = 0.3


def _promoter() -> list[str]:
    script = Path(sys.executable).parent / "promoter"
    if script.exists():
        return [str(script)]
    found = shutil.which("promoter")
    return [found] if found else [sys.executable, "-m", "promoter"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU times of ``runs`` fresh runs of ``command`` (after one warm-up).

    CPU time (user + system of the child) is what a busy machine disturbs least.
    """
    env = dict(os.environ)  # the warm-up writes the command's start cache, as a first run does
    subprocess.run(command, capture_output=True, check=False, cwd=ROOT, env=env)
    walls, cpus = [], []
    for _ in range(runs):
        cpu_before = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False, cwd=ROOT, env=env)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu_before)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr!r}")
    return walls, cpus


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    compile_promoter()
    promoter = _promoter()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "promoter --help": [*promoter, "--help"],
        "promoter validate -f examples/quickstart/pipeline.yml": [
            *promoter,
            "validate",
            "-f",
            str(QUICKSTART.relative_to(ROOT)),
        ],
    }
    results = {}
    for name, command in commands.items():
        walls, cpus = measure(command, args.runs)
        results[name] = {
            "median_s": statistics.median(walls),
            "min_s": min(walls),
            "cpu_median_s": statistics.median(cpus),
        }
    if args.json:
        print(json.dumps({"runs": args.runs, "results": results}, indent=2))
        return
    width = max(len(name) for name in results)
    print(f"cold start, median of {args.runs} runs (python {sys.version.split()[0]})")
    print(f"  {'command':<{width}}  {'wall':>7}  {'min':>7}  {'cpu':>7}")
    for name, figures in results.items():
        print(
            f"  {name:<{width}}  {figures['median_s']:6.3f}s  {figures['min_s']:6.3f}s"
            f"  {figures['cpu_median_s']:6.3f}s"
        )
    help_time = results["promoter --help"]["median_s"]
    verdict = "ok" if help_time < TARGET_HELP_SECONDS else "OVER TARGET"
    print(f"  target: promoter --help < {TARGET_HELP_SECONDS} s -> {verdict}")


if __name__ == "__main__":
    main()
