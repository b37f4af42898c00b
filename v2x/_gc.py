"""Fewer pauses of Python's cyclic garbage collector during a run.

A run's process holds a large, long-lived object graph from its start-up (the network as
sumolib reads it, the compiled ASN.1 modules, the scenario), and its loop allocates many
short-lived containers (per-step dicts of SUMO's subscription results, bus messages). CPython
collects generation 0 every 700 net container allocations and, every so often, traverses
every tracked object (generation 2); each collection stops every thread, as it holds the GIL.
Measured on ``xiqing-south-station`` (300 s): about 500 collections, 0.35-0.5 s, two thirds of
it in four full collections that traverse the start-up graph again.

:func:`fewer_collections` moves what exists at its start to CPython's permanent generation
(``gc.freeze``, as the CPython documentation advises for a process that keeps its start-up
objects) and collects generation 0 every ``GEN0_THRESHOLD`` allocations; both are undone on
exit. Cycles made during the run are still collected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["GEN0_THRESHOLD", "fewer_collections"]

#: net container allocations between two generation-0 collections during a run (CPython's
#: default is 700)
GEN0_THRESHOLD = 20_000


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Within: the objects that exist at entry are not traversed by collections (frozen),
    and generation 0 is collected every :data:`GEN0_THRESHOLD` allocations. At exit the
    thresholds are restored and the frozen objects are ordinary again."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
