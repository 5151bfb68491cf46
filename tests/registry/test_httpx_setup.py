"""Start-up and read-size tuning of httpx (promoter.registry.transport.httpx_setup.prepare)."""

from __future__ import annotations

import subprocess
import sys

from promoter.registry.transport.httpx_setup import READ_PIECE

PROBE = """
import sys
from promoter.registry.access.options import RegistryOptions
from promoter.registry.remote.pool import Registries
assert "httpx" not in sys.modules  # importing the registry layer does not load httpx
client = Registries(RegistryOptions()).client("127.0.0.1:9").transport.http()
from promoter.registry.transport.httpx_setup import prepare
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
        "from promoter.registry.transport.httpx_setup import prepare; prepare(); import httpx; httpx.main()"
    )
    assert done.returncode != 0
    assert "not loaded inside promoter" in done.stderr


def test_prepare_takes_over_a_placeholder_left_by_the_command_line() -> None:
    """``sys.modules["httpx._main"] = None`` set before (as cli/main.py did) is replaced."""
    done = _run(
        "import sys; sys.modules['httpx._main'] = None\n"
        "from promoter.registry.transport.httpx_setup import prepare; prepare()\n"
        "print(sorted(m for m in ('rich', 'pygments') if m in sys.modules))\n"
        "import httpx; httpx.main()"
    )
    assert done.stdout.strip() == "[]"
    assert "not loaded inside promoter" in done.stderr


_REVISIT = (
    "promoter/registry/transport/httpx_setup.py relies on an internal of {what} that moved in "
    "{what} {version}: revisit that module and the pin of {what} in pyproject.toml"
)


def test_the_internals_httpx_setup_relies_on_are_where_it_expects() -> None:
    """Fails loudly when httpx or httpcore moves what ``prepare`` tunes (and the upper
    bounds of the pins in pyproject.toml are to be revisited)."""
    import importlib.util
    from pathlib import Path

    import httpcore
    import httpx

    spec = importlib.util.find_spec("httpcore._sync.http11")
    assert spec is not None, _REVISIT.format(what="httpcore", version=httpcore.__version__)
    from httpcore._sync.http11 import HTTP11Connection

    read_size = getattr(HTTP11Connection, "READ_NUM_BYTES", None)
    assert isinstance(read_size, int), _REVISIT.format(
        what="httpcore", version=httpcore.__version__
    )
    package = Path(httpx.__file__).parent
    assert (package / "_main.py").is_file(), _REVISIT.format(
        what="httpx", version=httpx.__version__
    )


def test_the_installed_httpx_and_httpcore_are_inside_the_pins() -> None:
    from importlib.metadata import version
    from pathlib import Path

    import pytest
    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    pins = {
        requirement.name: requirement.specifier
        for requirement in map(
            Requirement, tomllib.loads(pyproject.read_text())["project"]["dependencies"]
        )
    }
    for name in ("httpx", "httpcore"):
        assert any(spec.operator == "<" for spec in pins[name]), f"{name} has no upper bound"
        assert version(name) in pins[name], f"{name} {version(name)} is outside {pins[name]}"


def test_the_deadline_transport_says_failures_in_httpx_words() -> None:
    """The own transport (httpcore's public ``network_backend``): a refused connection
    is ``httpx.ConnectError``, as the retry table expects."""
    import socket

    import httpx

    from promoter.registry.transport.deadline_transport import DeadlineTransport

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: the connection is refused
        with httpx.Client(transport=DeadlineTransport()) as client:
            try:
                client.get(f"http://127.0.0.1:{port}/v2/")
            except httpx.ConnectError as error:
                assert isinstance(error.__cause__, Exception)
            else:
                raise AssertionError("a refused connection answered")
