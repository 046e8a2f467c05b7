"""Work a replica of `supportbot serve` repeats in the background (announcing changes,
reminding owners of reviews) until it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def every(
    seconds: float, work: Callable[[], Awaitable[object]], what: str
) -> AsyncIterator[None]:
    """Run ``work`` now and then every ``seconds`` until the block ends; a failure is logged
    (``what`` names the work) and the next round runs as planned."""

    async def forever() -> None:
        while True:
            try:
                await work()
            except KnowledgeError as e:
                log.warning("cannot %s: %s", what, e)
            except Exception:
                # The outermost edge of background work: it must outlive any one failure.
                log.exception("%s failed", what)
            await asyncio.sleep(seconds)

    task = asyncio.create_task(forever())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
