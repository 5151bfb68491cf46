"""``promoter.cli.fastexit``: a finished command's process ends without the interpreter's
teardown, after everything an ordinary exit does that a user can see."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.env import clean_env

#: A process that uses the module as ``promoter.cli.main.main`` does: a finalizer of a
#: temporary directory, an atexit handler registered after ``skip_teardown``, a logging
#: file handler, a module global whose ``__del__`` only the teardown would call, and
#: 1 MiB on a buffered stdout.
SCRIPT = """
import atexit, logging, sys, tempfile
from promoter.cli import fastexit

class Noisy:
    def __del__(self):
        sys.stderr.write("teardown ran\\n")

fastexit.skip_teardown()
log = logging.getLogger("fastexit-test")
log.addHandler(logging.FileHandler(sys.argv[1]))
log.warning("a line for the log file")
folder = tempfile.TemporaryDirectory()
sys.stderr.write(folder.name + "\\n")
atexit.register(lambda: sys.stderr.write("later handler ran\\n"))
NOISY = Noisy()
sys.stdout.write("x" * (1 << 20))
fastexit.finish(3)
"""


def _run(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "log.txt")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=clean_env(),
    )


def test_finish_keeps_the_code_output_and_handlers_and_skips_the_teardown(
    tmp_path: Path,
) -> None:
    done = _run(tmp_path, SCRIPT)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "x" * (1 << 20)  # flushed whole
    folder = Path(done.stderr.splitlines()[0])
    assert not folder.exists()  # the finalizer ran (an atexit handler of weakref's)
    assert "later handler ran" in done.stderr
    assert (tmp_path / "log.txt").read_text() == "a line for the log file\n"
    assert "teardown ran" not in done.stderr  # module globals were never cleared


def test_without_finish_the_process_takes_the_ordinary_teardown(tmp_path: Path) -> None:
    done = _run(tmp_path, SCRIPT.replace("fastexit.finish(3)", "sys.exit(3)"))
    assert done.returncode == 3, done.stderr
    assert "later handler ran" in done.stderr
    assert "teardown ran" in done.stderr


def test_a_command_exits_with_its_code_and_its_whole_json(tmp_path: Path) -> None:
    # `promoter schema` prints one large JSON document; a refused command keeps exit 2.
    done = run_cli(["schema"], cwd=tmp_path, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["$schema"].startswith("https://json-schema.org/")
    bad = run_cli(["validate", "-f", "missing.yml"], cwd=tmp_path, env=clean_env())
    assert bad.returncode == 2
    assert "missing.yml" in bad.stderr
