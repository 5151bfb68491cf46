"""Start-up and read-size tuning of httpx (promoter.registry.httpx_setup.prepare)."""

from __future__ import annotations

import subprocess
import sys

from promoter.registry.httpx_setup import READ_PIECE

PROBE = """
import sys
from promoter.registry.options import RegistryOptions
from promoter.registry.pool import Registries
assert "httpx" not in sys.modules  # importing the registry layer does not load httpx
client = Registries(RegistryOptions()).client("127.0.0.1:9").transport.http()
from promoter.registry.httpx_setup import prepare
prepare()  # again: nothing more happens
from httpcore._sync.http11 import HTTP11Connection
print(sorted(m for m in ("rich", "pygments", "httpx._main") if m in sys.modules and
      getattr(sys.modules[m], "__file__", None)))
print(HTTP11Connection.READ_NUM_BYTES)
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_httpx_loads_without_its_cli_and_reads_in_large_pieces() -> None:
    done = _run(PROBE)
    assert done.returncode == 0, done.stderr
    loaded, read_size = done.stdout.split("\n")[:2]
    # httpx's own command-line client (rich, pygments) stays out of the process...
    assert loaded == "[]"
    # ...and a client's body reads are 512 KiB, not httpcore's 64 KiB.
    assert int(read_size) == READ_PIECE == 512 * 1024


def test_the_stand_in_refuses_to_run_the_httpx_cli() -> None:
    done = _run(
        "from promoter.registry.httpx_setup import prepare; prepare(); import httpx; httpx.main()"
    )
    assert done.returncode != 0
    assert "not loaded inside promoter" in done.stderr


def test_prepare_takes_over_a_placeholder_left_by_the_command_line() -> None:
    """``sys.modules["httpx._main"] = None`` set before (as cli/main.py did) is replaced."""
    done = _run(
        "import sys; sys.modules['httpx._main'] = None\n"
        "from promoter.registry.httpx_setup import prepare; prepare()\n"
        "print(sorted(m for m in ('rich', 'pygments') if m in sys.modules))\n"
        "import httpx; httpx.main()"
    )
    assert done.stdout.strip() == "[]"
    assert "not loaded inside promoter" in done.stderr
