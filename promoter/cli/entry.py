"""Where the ``promoter`` process starts: its console script and ``python -m promoter``.

Before the CLI is imported, the cycle collector is set to look at young objects
after 50,000 more allocations than deallocations, not 700 (CPython's default); the
older generations keep their settings. A start imports some 150 modules whose
objects live as long as the process, and at 700 the collector went over them 28
times in a ``promoter copy`` with nothing to do: 6-7 ms of a 0.08 s process
(issue #24), none at 50,000. What waits longer is only cyclic garbage (reference
counting frees the rest at once), and at most that of 50,000 allocations. The
library (``import promoter``) leaves the collector as it finds it.

Then the command's kept modules are offered to the imports (``promoter.cli.startcache``:
the bytecode of the promoter modules the command imported last time, in one file),
and kept again after a run that succeeded with modules found the usual way
(``PROMOTER_NO_START_CACHE=1``: neither).
"""

from __future__ import annotations

import gc
import sys

from promoter.cli.startcache import StartCache
from promoter.environment import value

__all__ = ["NO_START_CACHE_ENV", "YOUNG_THRESHOLD", "command_word", "main"]

#: Allocations (less deallocations) of container objects between two young collections.
YOUNG_THRESHOLD = 50_000
#: Options that show a text and end the run: such a run's modules are not the command's.
_HELP = frozenset(("-h", "--help", "--version"))
#: Set (to anything but empty), the process neither reads nor writes a start cache.
NO_START_CACHE_ENV = "PROMOTER_NO_START_CACHE"


def main() -> None:
    """Run the ``promoter`` command line in this process, the collector set first."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    command = command_word(sys.argv[1:])
    kept = None
    if command is not None and not value(NO_START_CACHE_ENV):
        kept = StartCache(command)
        kept.install()
    # here, not at the top: the collector is set first, then the CLI's modules are made
    from promoter.cli.main import main as run

    try:
        run()
    except SystemExit as done:
        # A command that ran (its module imported) and succeeded: keep what it imported.
        ran = f"promoter.cli.commands.{command}" in sys.modules and not _HELP & set(sys.argv)
        if kept is not None and ran and done.code in (0, None):
            kept.save()
        raise


def command_word(args: list[str]) -> str | None:
    """The command a command line names, as its cache is named: its first word that is
    not an option, when that is a plain lowercase word (an option's value is not)."""
    word = next((arg for arg in args if not arg.startswith("-")), None)
    if word is None or not (word.isascii() and word.isalpha() and word.islower()):
        return None
    return word if len(word) <= 32 else None
