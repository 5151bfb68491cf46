"""Start-up and read-size tuning of httpx (promoter.registry.httpx_setup)."""

from __future__ import annotations

import subprocess
import sys

from promoter.registry.httpx_setup import READ_PIECE

PROBE = """
import sys
import promoter.registry
from promoter.registry.options import RegistryOptions
from promoter.registry.pool import Registries
import httpx
client = Registries(RegistryOptions()).client("127.0.0.1:9").transport.http()
from httpcore._sync.http11 import HTTP11Connection
print(sorted(m for m in ("rich", "pygments", "httpx._main") if m in sys.modules and
      getattr(sys.modules[m], "__file__", None)))
print(HTTP11Connection.READ_NUM_BYTES)
"""


def test_httpx_loads_without_its_cli_and_reads_in_large_pieces() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    loaded, read_size = done.stdout.split("\n")[:2]
    # httpx's own command-line client (rich, pygments) stays out of the process...
    assert loaded == "[]"
    # ...and a client's body reads are 512 KiB, not httpcore's 64 KiB.
    assert int(read_size) == READ_PIECE == 512 * 1024


def test_the_stand_in_refuses_to_run_the_httpx_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import promoter.registry, httpx; httpx.main()"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "not loaded inside promoter" in done.stderr
