"""Loopback HTTP servers for tests that need a real peer (web pages, an OpenAI-style API),
and the small helpers that go with them: a free port, waiting for a condition."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# The timeout is part of the contract so a failure can name what was awaited.
async def eventually(
    predicate: Callable[[], bool],
    *,
    timeout: float,  # noqa: ASYNC109
    what: str = "the condition",
) -> None:
    """Poll ``predicate`` every 20 ms until it holds; fail the test after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still not true after {timeout}s: {what}")
        await asyncio.sleep(0.02)


async def drip(request: web.Request) -> web.StreamResponse:
    """A handler that sends a byte every 0.2 s until the client leaves: no single read waits
    long, so only a deadline for the whole download stops it."""
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):
        while True:
            await response.write(b"x")
            await asyncio.sleep(0.2)
    return response
