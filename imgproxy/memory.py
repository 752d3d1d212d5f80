"""Keeping a worker's resident memory near what it holds, on glibc.

Decoded images are tens of megabytes each. glibc gives every thread that allocates its own arena
(up to 8 per core) and keeps freed memory in them for reuse, so after a burst of large images a
worker holds its peak for good. Two arenas serve the few CPU threads as well, and a trim after
work returns the free pages to the system.

That trim is the one that counts, so glibc's own is put off: by default it gives the top of the
heap back whenever a free leaves some tens of megabytes there, and YuNet's network, which frees
and asks again for some 100 MB of blocks on a 1280x960 input, then had every run fault its memory
in anew (32 ms a run instead of 22; onnxruntime's own arena, 19 ms, would keep a run's peak for
the process's life). Blocks under MMAP_THRESHOLD come from the heap and stay there until the trim.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time

log = logging.getLogger("imgproxy")

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # mallopt's parameters, from glibc's malloc.h
ARENAS = 2
# Setting either threshold stops glibc from moving them itself (the mmap one from 128 KB up to 32 MB
# as large blocks are freed), so both are set: larger blocks are mapped and unmapped on their own,
# and the heap's free top is never handed back by a free.
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 1 << 30  # mallopt takes an int: 1 GiB, which no worker frees at once
TRIM_INTERVAL = 1.0  # seconds: malloc_trim walks every arena, so not after each request

_libc: ctypes.CDLL | None = None
_last_trim = 0.0
_lock = threading.Lock()


def tune_allocator() -> None:
    """Cap glibc's arenas and leave the trimming to `trim`, for the rest of the process (a no-op
    off glibc)."""
    global _libc
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(M_ARENA_MAX, ARENAS)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        log.debug("not glibc: malloc arenas left as they are")
        return
    _libc = libc


def trim() -> None:
    """Give free heap pages back to the system, at most once a TRIM_INTERVAL."""
    global _last_trim
    if _libc is None:
        return
    now = time.monotonic()
    with _lock:
        if now - _last_trim < TRIM_INTERVAL:
            return
        _last_trim = now
    _libc.malloc_trim(0)
