"""Where the ``promoter`` process starts: its console script and ``python -m promoter``.

Before the CLI is imported, the cycle collector is set to look at young objects
after 50,000 more allocations than deallocations, not 700 (CPython's default); the
older generations keep their settings. A start imports some 150 modules whose
objects live as long as the process, and at 700 the collector went over them 28
times in a ``promoter copy`` with nothing to do: 6-7 ms of a 0.08 s process
(issue #24), none at 50,000. What waits longer is only cyclic garbage (reference
counting frees the rest at once), and at most that of 50,000 allocations. The
library (``import promoter``) leaves the collector as it finds it.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "main"]

#: Allocations (less deallocations) of container objects between two young collections.
YOUNG_THRESHOLD = 50_000


def main() -> None:
    """Run the ``promoter`` command line in this process, the collector set first."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    # here, not at the top: the collector is set first, then the CLI's modules are made
    from promoter.cli.main import main as run

    run()
