"""What more than one benchmark writes: the benchmark project's pipeline.yml, and a
Markdown table of its figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def write_bench_pipeline(
    folder: Path, hosts: Mapping[str, str], names: Sequence[str], to: Sequence[str]
) -> Path:
    """``folder/pipeline.yml`` (and ``app/Dockerfile``): each image NAME in
    ``staging/NAME:bench``, promoted as ``v1`` to ``ALIAS/NAME`` for each alias in ``to``;
    ``hosts`` maps each registry alias to its host."""
    (folder / "app").mkdir(parents=True, exist_ok=True)
    (folder / "app" / "Dockerfile").write_text("FROM scratch\n")
    lines = ["version: 1", "registries:"]
    for alias, host in hosts.items():
        lines += [f"  {alias}:", f"    host: {host}", "    insecure: true"]
    lines.append("images:")
    for name in names:
        lines += [
            f"  {name}:",
            "    build: {context: app}",
            '    tags: ["type=raw,value=bench"]',
            f"    staging: staging/{name}",
            "    promote:",
            f"      - to: [{', '.join(f'{alias}/{name}' for alias in to)}]",
            "        tags: [v1]",
            "        when: always",
        ]
    lines += ["policies:", "  - rule: non-root"]
    (folder / "pipeline.yml").write_text("\n".join(lines) + "\n")
    return folder / "pipeline.yml"


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """``rows`` (the first is the heading) as a Markdown table, columns padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)
