"""Promotion of 50 small images to two production registries: promoter vs a skopeo loop.

Seeds a staging registry with 50 images of 3 small layers each (plain HTTP, no
promoter code), then, in one run, side by side:

* ``promoter run --stage check,promote`` of a 50-image pipeline (each image to
  ``prod-a`` and ``prod-b``; the policy checks run on each staging digest);
* a ``skopeo copy --all --preserve-digests`` loop doing the same 100 copies to
  two other, equally empty registries (a fresh blob-info cache, as on a new
  CI runner);
* the re-run with nothing to do: the CLI process, and the library call alone.

    python benchmarks/promote_bench.py [--images 50] [--storage DIR] [--json]

``--storage`` puts the registries' storage (and the scratch files) under DIR,
e.g. /dev/shm to take the disk out of the comparison.

Targets: promoter at most half of skopeo's wall time; the re-run under 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _compiled import compile_promoter  # noqa: E402  (benchmarks/, this script's folder)
from _report import write_bench_pipeline  # noqa: E402

from tests.support.images import make_image, push_http  # noqa: E402
from tests.support.registry import Registry, start_registry  # noqa: E402

__all__ = ["main"]

LABELS = {"org.opencontainers.image.source": "https://example.invalid/bench"}


def _env(work: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_ACTIONS", "TF_BUILD") and not k.startswith(("GITHUB_", "BUILD_"))
    }
    env.update(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.invalid")
    env.update(GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.invalid")
    # skopeo's blob-info cache lives under XDG_DATA_HOME for this run only: empty, as on
    # a fresh CI runner.
    env["XDG_DATA_HOME"] = str(work / "xdg")
    env["HOME"] = str(work / "home")
    return env


def _pipeline(work: Path, registries: dict[str, Registry], count: int) -> Path:
    project = work / "project"
    hosts = {alias: registries[alias].host for alias in ("staging", "prod-a", "prod-b")}
    names = [f"img-{i:02d}" for i in range(count)]
    return write_bench_pipeline(project, hosts, names, ["prod-a", "prod-b"])


def _seed(staging: Registry, count: int) -> int:
    total = 0
    for i in range(count):
        image = make_image(
            seed=f"bench-{i}", user="1000", labels=LABELS, layer_sizes=(40_000, 30_000, 20_000)
        )
        push_http(image, staging.url, f"img-{i:02d}", "bench")
        total += image.blob_bytes
    return total


def _timed(args: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{args[:4]} failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed, result.stdout


def _skopeo_loop(
    staging: Registry, targets: list[Registry], count: int, env: dict[str, str]
) -> float:
    started = time.perf_counter()
    for i in range(count):
        name = f"img-{i:02d}"
        for target in targets:
            subprocess.run(
                [
                    "skopeo", "copy", "--quiet", "--all", "--preserve-digests",
                    "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{staging.host}/{name}:bench",
                    f"docker://{target.host}/{name}:v1",
                ],
                env=env, check=True, capture_output=True,
            )  # fmt: skip
    return time.perf_counter() - started


def _registry_cpu(registries: list[Registry]) -> float:
    """CPU seconds the registry processes have used so far (user + system, /proc)."""
    total = 0.0
    for registry in registries:
        assert registry.process is not None
        fields = Path(f"/proc/{registry.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _library_rerun(pipeline: Path, env: dict[str, str]) -> float:
    from promoter.pipeline import RunRequest, run_pipeline

    request = RunRequest(str(pipeline), stages=("check", "promote"), env=env)
    started = time.perf_counter()
    report = run_pipeline(request)
    elapsed = time.perf_counter() - started
    assert report.plan is not None and report.plan.count("noop") == 2 * len(report.plan.images)
    return elapsed


def run(count: int, storage: str | None = None) -> dict[str, Any]:
    """Seed, promote with both tools, re-run; the measurements as a dict."""
    with tempfile.TemporaryDirectory(prefix="promote-bench-", dir=storage) as tmp:
        work = Path(tmp)
        aliases = ("staging", "prod-a", "prod-b", "skopeo-a", "skopeo-b")
        registries = {a: start_registry(work / a) for a in aliases}
        try:
            env = _env(work)
            seeded = _seed(registries["staging"], count)
            pipeline = _pipeline(work, registries, count)
            for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
                subprocess.run(["git", *args], cwd=pipeline.parent, env=env, check=True)
            promoter = [sys.executable, "-m", "promoter"]
            run_args = [*promoter, "run", "--stage", "check,promote", "-f", str(pipeline)]
            ours = [registries[a] for a in ("staging", "prod-a", "prod-b")]
            theirs = [registries[a] for a in ("staging", "skopeo-a", "skopeo-b")]
            cpu = _children_cpu(), _registry_cpu(ours)
            first, out = _timed([*run_args, "--output", "json"], env)
            promoter_cpu = _children_cpu() - cpu[0], _registry_cpu(ours) - cpu[1]
            report = json.loads(out)
            assert report["plan"]["summary"]["copy"] == 2 * count, report["plan"]["summary"]
            cpu = _children_cpu(), _registry_cpu(theirs)
            skopeo = _skopeo_loop(
                registries["staging"], [registries["skopeo-a"], registries["skopeo-b"]], count, env
            )
            skopeo_cpu = _children_cpu() - cpu[0], _registry_cpu(theirs) - cpu[1]
            rerun, out = _timed([*run_args, "--output", "json"], env)
            assert json.loads(out)["plan"]["summary"]["noop"] == 2 * count
            library = min(_library_rerun(pipeline, env) for _ in range(3))
            skopeo_rerun = _skopeo_loop(
                registries["staging"], [registries["skopeo-a"], registries["skopeo-b"]], count, env
            )
            return {
                "images": count,
                "storage": tmp,
                "destinations": 2,
                "seeded_bytes": seeded,
                "promoter_seconds": round(first, 3),
                "promoter_in_process_seconds": report["seconds"],
                "promoter_apply_seconds": report["promotion"]["seconds"],
                "skopeo_seconds": round(skopeo, 3),
                "ratio": round(first / skopeo, 3),
                "promoter_cpu_seconds": round(promoter_cpu[0], 2),
                "promoter_registries_cpu_seconds": round(promoter_cpu[1], 2),
                "skopeo_cpu_seconds": round(skopeo_cpu[0], 2),
                "skopeo_registries_cpu_seconds": round(skopeo_cpu[1], 2),
                "cpus": os.cpu_count(),
                "promoter_bytes_copied": report["promotion"]["bytesCopied"],
                "rerun_cli_seconds": round(rerun, 3),
                "rerun_library_seconds": round(library, 3),
                "skopeo_rerun_seconds": round(skopeo_rerun, 3),
            }
        finally:
            for registry in registries.values():
                registry.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--storage", metavar="DIR", help="where the registries keep blobs")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    compile_promoter()
    result = run(options.images, options.storage)
    if options.json:
        print(json.dumps(result, indent=2))
        return 0
    n = result["images"]
    rows = [
        ("case", "promoter", "skopeo loop", "promoter/skopeo"),
        (
            f"{n} images -> 2 registries",
            f"{result['promoter_seconds']:.2f} s",
            f"{result['skopeo_seconds']:.2f} s",
            f"{result['ratio']:.2f} (target <= 0.50)",
        ),
        (
            "re-run, nothing to do (CLI)",
            f"{result['rerun_cli_seconds']:.2f} s",
            f"{result['skopeo_rerun_seconds']:.2f} s",
            "",
        ),
        (
            "re-run, nothing to do (library)",
            f"{result['rerun_library_seconds']:.3f} s",
            "",
            "(target < 0.5 s)",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    print(
        f"promoter: {result['promoter_in_process_seconds']:.2f} s in the process, of which "
        f"{result['promoter_apply_seconds']:.2f} s applying (copy, verify, tags, records)"
    )
    for tool in ("promoter", "skopeo"):
        own, served = result[f"{tool}_cpu_seconds"], result[f"{tool}_registries_cpu_seconds"]
        print(
            f"CPU, {tool}: {own:.2f} s itself + {served:.2f} s in the three registries = "
            f"{own + served:.2f} s (on {result['cpus']} CPUs: wall time >= "
            f"{(own + served) / (result['cpus'] or 1):.2f} s)"
        )
    print(
        f"blob bytes seeded: {result['seeded_bytes']}; promoter copied "
        f"{result['promoter_bytes_copied']}; registry storage under {options.storage or 'the temp dir'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
