"""Large arrays go back to the system when freed: glibc's malloc, told so once per process.

glibc serves an allocation below its mmap threshold from the heap, and raises that threshold
(up to 32 MiB) each time a larger mapped block is freed. The rank counts' merges
(``ranking.py``) free and allocate arrays of 1 to 32 MiB again and again; from the heap, the
freed ones leave holes that the process keeps (about 200 MiB of the peak RSS at 10M rows,
``benchmarks/evaluate_scale.py``). A fixed threshold of 4 MiB keeps such arrays out of the
heap: each is mapped when allocated and unmapped when freed. Elsewhere (another C library, no
``mallopt``) nothing is changed.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>
THRESHOLD_BYTES = 4 << 20

_set = False


def map_large_arrays() -> bool:
    """Set glibc's mmap threshold to 4 MiB (once); True if it is set."""
    global _set
    if _set:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _set = bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES) == 1)  # musl's returns 0
    return _set
