"""No number ends in an "internal error" (issue #21, 7): ``--max-rps``, ``--timeout``, a
pipeline's ``limits`` and a reference's port, each through the real command line, are
refused as bad input (exit 2) with one clear line before any connection, or are
accepted (a registry that is not there: exit 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import isolated_env, run_cli

#: A loopback port where nothing listens: a value that is accepted fails to connect.
NOBODY = "127.0.0.1:9"
REF = f"{NOBODY}/web:1"

BAD_RATES = ["0", "-1", "nan", "inf", "-inf", "1e308", "1e-308", "0.01", "9" * 30, "abc", ""]
BAD_TIMEOUTS = ["0", "-1", "nan", "inf", "1e400", "abc"]
BAD_PORTS = ["127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:99999999999", "[::1]:70000"]


def _run(args: list[str], cwd: Path) -> tuple[int, str]:
    timed = any(a.startswith("--timeout") for a in args)
    done = run_cli(
        args if timed else [*args, "--timeout", "2"],
        cwd=cwd,
        env=isolated_env(cwd, {}),
        timeout=60,
    )
    assert "internal error" not in done.stderr.lower()
    assert "Traceback" not in done.stderr
    return done.returncode, done.stderr


@pytest.mark.parametrize("rate", BAD_RATES)
def test_a_bad_max_rps_is_one_line_of_bad_input(rate: str, tmp_path: Path) -> None:
    code, err = _run(["inspect", REF, "--max-rps", f"{NOBODY}={rate}"], tmp_path)
    assert code == 2, err
    first = err.splitlines()[0]
    assert first.startswith("error: ") and ("--max-rps" in first or "deadline" in first)


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_a_bad_timeout_is_bad_input(timeout: str, tmp_path: Path) -> None:
    code, err = _run(["inspect", REF, f"--timeout={timeout}"], tmp_path)
    assert code == 2, err
    assert "'--timeout'" in err and "is not a positive number of seconds" in err


@pytest.mark.parametrize("host", BAD_PORTS)
def test_a_port_outside_1_to_65535_is_bad_input_before_any_connection(
    host: str, tmp_path: Path
) -> None:
    code, err = _run(["inspect", f"{host}/web:1"], tmp_path)
    assert code == 2, err
    assert err.splitlines()[0].startswith("error: invalid reference")
    assert "is not from 1 to 65535" in err.splitlines()[0]


@pytest.mark.parametrize(("rate", "timeout"), [("0.5", "2"), ("100000", "2"), ("1", "1e308")])
def test_an_accepted_budget_runs_and_fails_only_at_the_missing_registry(
    rate: str, timeout: str, tmp_path: Path
) -> None:
    code, err = _run(
        ["inspect", REF, "--max-rps", f"{NOBODY}={rate}", "--timeout", timeout], tmp_path
    )
    assert code == 3, err
    assert err.splitlines()[0].startswith(f"error: {NOBODY}")


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        ("{requests_per_second: 0}", 2),
        ("{requests_per_second: -5}", 2),
        ("{requests_per_second: .nan}", 2),
        ("{requests_per_second: .inf}", 2),
        ("{requests_per_second: 1e308}", 2),
        ("{requests_per_second: 1e-308}", 2),
        ("{requests_per_second: fast}", 2),
        ("{max_concurrency: 0}", 2),
        ("{max_concurrency: 99999999999999999999999}", 2),
        ("{max_concurrency: 2.5}", 2),
        ("{requests_per_second: 0.001}", 2),
        ("{requests_per_second: 5, max_concurrency: 2}", 3),
    ],
)
def test_pipeline_limits_are_bounded(limits: str, code: int, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "pipeline.yml").write_text(
        "version: 1\nregistries:\n  local:\n"
        f"    host: {NOBODY}\n    insecure: true\n    limits: {limits}\n"
        "images:\n  web:\n    build: {context: .}\n    staging: local/web\n"
    )
    got, err = _run(["check", REF, "-f", "pipeline.yml"], tmp_path)
    assert got == code, err
    first = err.splitlines()[0]
    if code == 2:
        assert "limits" in first or "requests per second" in first, first
