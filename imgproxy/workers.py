"""CPU work (decode, detect, encode) off the event loop, in a bounded pool that sheds load."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from imgproxy import memory
from imgproxy.errors import Overloaded
from imgproxy.metrics import QUEUED, SHED

T = TypeVar("T")


class WorkerPool:
    """A thread pool that refuses new jobs (429) once `queue_limit` jobs wait for a thread.

    Latency under overload stays bounded: a request either starts soon or is told to retry.
    Pillow and MediaPipe release the GIL while they work, so threads use every core.
    """

    def __init__(self, threads: int, queue_limit: int) -> None:
        self.threads = threads
        self.capacity = threads + queue_limit
        self.pending = 0  # jobs submitted and not finished; read and written on the event loop only
        memory.tune_allocator()
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="imgproxy-cpu")

    def admit(self) -> None:
        """Refuse (429) a request that would need a thread while the queue is full, before it
        costs anything: a body read, a download, a hash."""
        if self.pending >= self.capacity:
            SHED.inc()
            raise Overloaded("too many requests queued; retry shortly")

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        self.admit()
        loop = asyncio.get_running_loop()
        self.pending += 1
        QUEUED.inc()
        # In the request's context, so what the job logs carries the request's id.
        future = self._executor.submit(contextvars.copy_context().run, fn, *args)
        # Count the job until its thread is done with it, even if the request is cancelled.
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._finished))
        return await asyncio.wrap_future(future)

    def _finished(self) -> None:
        self.pending -= 1
        QUEUED.dec()
        if self.pending == 0:  # idle: hand the pages the last jobs freed back to the system
            with contextlib.suppress(RuntimeError):  # the pool is shutting down
                self._executor.submit(memory.trim)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
