"""The CLI's settings for one invocation.

``main()`` makes one ``CliState`` and makes it the running one (``running``);
the option callbacks write to it (``promoter.cli.params``), the command and the
renderers read it (``current_state``), and ``main()`` reads it again once the
command has returned (the exit code, the CI adapter).

The state holds the invocation's environment snapshot (``promoter.environment``) and
the flags that override it; ``settings()`` makes of them the one ``Settings`` value the
command passes down. The CLI never writes the process environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from promoter.ci.boundary import Boundary
from promoter.environment import snapshot
from promoter.settings import Settings
from promoter.structs import field, struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.promote.stopping import StopRequest

__all__ = ["CliState", "current_state", "running"]


@struct
class CliState:
    """What the option callbacks learned, and what the command left for the CI adapter."""

    output: str = "text"
    debug: bool = False
    quiet: bool = False
    #: The CI service (``github``, ``azure-devops``, ``none``), decided before parsing.
    ci: str = "none"
    #: The command's name, its JSON document and the plan file it wrote, for the CI side.
    command: str = ""
    document: dict[str, object] | None = None
    plan_file: str = ""
    #: stdout and stderr of this invocation, and the one door for promoter's own CI commands.
    boundary: Boundary = field(default_factory=Boundary)
    #: The environment as this invocation found it (a snapshot, never written back).
    environ: dict[str, str] = field(default_factory=snapshot, repr=False)
    #: ``ci`` was decided by ``main()`` (``--ci``, ``PROMOTER_CI`` or detected) for every layer.
    ci_decided: bool = False
    #: ``--timeout SECONDS`` (over ``PROMOTER_TIMEOUT``) and ``--max-rps HOST=N`` entries.
    timeout: str | None = None
    max_rps: list[str] = field(default_factory=list)
    #: The interrupt request of the running promotion (``cli.interrupts``), if one runs.
    stop: StopRequest | None = None

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
        return "NO_COLOR" not in self.environ

    def settings(self) -> Settings:
        """The invocation's settings: the environment snapshot with the flags over it."""
        return Settings.from_environ(
            self.environ,
            ci=self.ci if self.ci_decided else None,
            timeout=self.timeout,
            max_rps=self.max_rps,
        )


_RUNNING: ContextVar[CliState | None] = ContextVar("promoter_cli_state", default=None)


@contextmanager
def running(state: CliState) -> Iterator[CliState]:
    """Make ``state`` the one ``current_state`` finds, for a while."""
    token = _RUNNING.set(state)
    try:
        yield state
    finally:
        _RUNNING.reset(token)


def current_state() -> CliState:
    """The state of this invocation: the one ``main()`` made.

    Called without one (a library caller rendering on its own), a default state.
    """
    found = _RUNNING.get()
    return found if found is not None else CliState()
