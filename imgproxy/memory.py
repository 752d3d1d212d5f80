"""Keeping a worker's resident memory near what it holds, on glibc.

Decoded images are tens of megabytes each. glibc gives every thread that allocates its own arena
(up to 8 per core) and keeps freed memory in them for reuse, so after a burst of large images a
worker holds its peak for good. Two arenas serve the few CPU threads as well, and a trim after
work returns the free pages to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time

log = logging.getLogger("imgproxy")

M_ARENA_MAX = -8  # mallopt's parameter numbers, from glibc's malloc.h
ARENAS = 2
TRIM_INTERVAL = 1.0  # seconds: malloc_trim walks every arena, so not after each request

_libc: ctypes.CDLL | None = None
_last_trim = 0.0
_lock = threading.Lock()


def limit_arenas() -> None:
    """Cap glibc's arenas for the rest of the process (a no-op off glibc)."""
    global _libc
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(M_ARENA_MAX, ARENAS)
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
