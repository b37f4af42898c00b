"""glibc ``malloc`` thresholds for the simulation's numpy temporaries.

A window of steps allocates many short-lived arrays of 0.1-1 MB (the links of ten steps). glibc
serves an allocation above ``M_MMAP_THRESHOLD`` with freshly mapped pages and returns the top of
the heap to the system above ``M_TRIM_THRESHOLD``; each such temporary then costs page faults
(measured here: the pair search of a window 2.7x slower, a 300 s run's main process ~5-10 %
more CPU). Raising both keeps freed blocks for reuse, at the price of a process that holds on
to up to ``TRIM_THRESHOLD`` of freed memory. Linux with glibc only; elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory", "malloc_env"]

#: allocations below this are served from the heap [bytes] (glibc's dynamic maximum)
MMAP_THRESHOLD = 32 * 1024 * 1024
#: free memory at the top of the heap kept before it is returned to the system [bytes]
TRIM_THRESHOLD = 256 * 1024 * 1024

_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_MMAP_THRESHOLD = -3


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # not glibc (musl, macOS, Windows)
        return False


def keep_freed_memory() -> bool:
    """Set this process's thresholds (``mallopt``); True when they were set."""
    if not _glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)


def malloc_env() -> dict[str, str]:
    """The same thresholds for a child process, as glibc reads them from its environment at
    start (empty off glibc)."""
    if not _glibc():
        return {}
    return {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),
            "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}
