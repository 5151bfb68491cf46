"""Two ways to run the CLI in tests of pipeline files.

``run_subprocess`` runs the real ``python -m promoter``; ``run_in_process``
calls ``promoter.cli.main.main`` with stdout/stderr captured (fast enough for
hypothesis). Both return ``CliResult(code, stdout, stderr)``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from promoter.cli.main import main
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def first_error_line(self) -> str:
        lines = self.stderr.splitlines()
        return lines[0] if lines else ""


def run_subprocess(args: Sequence[str], cwd: Path | None = None) -> CliResult:
    done = run_cli(args, cwd=cwd, timeout=60)
    return CliResult(done.returncode, done.stdout, done.stderr)


def run_in_process(args: Sequence[str]) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    code: int
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())
