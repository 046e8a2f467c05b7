"""Work in flight, so that a replica told to stop (SIGTERM) finishes what it started first."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class WorkInProgress:
    """Counts answers and uploads being handled; ``stopping`` tells adapters to refuse more."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.stopping = False

    @property
    def count(self) -> int:
        return self._count

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    def stop_taking_work(self) -> None:
        self.stopping = True

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until nothing is in flight; False if work was still running after ``timeout``."""
        # One turn of the loop first: work handed to a task just now has not started yet.
        await asyncio.sleep(0)
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
