"""``promoter.cli.entry``: the CLI's process sets the cycle collector before its imports;
the library leaves it alone."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

from promoter.cli.entry import YOUNG_THRESHOLD
from tests.support.env import clean_env

#: A process that writes a line to stderr at the start of each collection, then runs
#: ``promoter --help`` from the module named by argv[1] (its ``main``).
COUNTING = """
import gc, importlib, os, sys
gc.callbacks.append(lambda phase, info: phase == "start" and os.write(2, b"collection\\n"))
entry = sys.argv[1]
sys.argv = ["promoter", "--help"]
importlib.import_module(entry).main()
"""


def _collections(entry: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", COUNTING, entry],
        capture_output=True, text=True, timeout=60, check=False, env=clean_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "usage: promoter" in done.stdout
    return done.stderr.splitlines().count("collection")


def test_the_cli_process_does_not_collect_while_it_starts() -> None:
    # ``promoter --help`` imports every command's module (to list them): 10-20 young
    # collections at CPython's threshold, as when main() is called in a process of its own.
    assert _collections("promoter.cli.main") >= 5
    assert _collections("promoter.cli.entry") <= 1


def test_the_entry_sets_the_young_threshold_and_keeps_the_older_ones() -> None:
    script = (
        "import gc, json\n"
        "import promoter.cli.main as cli\n"
        "before = gc.get_threshold()\n"
        "cli.main = lambda argv=None: print(json.dumps([before, gc.get_threshold()]))\n"
        "from promoter.cli.entry import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, timeout=60, check=False, env=clean_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    before, during = json.loads(done.stdout)
    assert during == [YOUNG_THRESHOLD, before[1], before[2]]
    assert before[0] != YOUNG_THRESHOLD  # importing the CLI's modules changed nothing


def test_importing_promoter_in_process_leaves_the_collector_as_it_was() -> None:
    # This very test process imported promoter.cli.main (and entry) at collection.
    assert gc.get_threshold()[0] != YOUNG_THRESHOLD
