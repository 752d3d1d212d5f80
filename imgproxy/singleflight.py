"""Identical concurrent work done once: later callers await the first caller's result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Task[T]] = {}

    def running(self, key: Hashable) -> bool:
        return key in self._running

    async def do(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(work())
            self._running[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        # A caller that goes away must not cancel the work the others are waiting for.
        return await asyncio.shield(task)

    def _forget(self, key: Hashable, task: asyncio.Task[T]) -> None:
        self._running.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here, so a failure nobody awaited any more is not logged as lost
