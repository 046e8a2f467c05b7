"""Socket Mode with several replicas: exactly one holds the Slack connection.

The holder is whoever holds a Redis lock. It renews the lock every third of its lifetime
(``SUPPORTBOT_SOCKET_LOCK_SECONDS``); standbys try to take it just as often. When the holder
dies its lock expires and a standby connects, within one lifetime. A holder that finds the
lock taken by another disconnects. A holder that cannot reach Redis keeps its connection:
while Redis is down no standby can take over, and a bot that answers beats one that does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)


SOCKET_LOCK_KEY = "slack:socket-mode"


class SocketModeLease:
    def __init__(self, client: redis.asyncio.Redis, namespace: str, ttl_seconds: float) -> None:
        self._lock = client.lock(
            f"{namespace}:{SOCKET_LOCK_KEY}", timeout=ttl_seconds, thread_local=False
        )
        self._interval = ttl_seconds / 3
        # The lock's value says who holds it, for people (and tests) looking at Redis.
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.holding = False

    @contextlib.asynccontextmanager
    async def hold(
        self, connect: Callable[[], Awaitable[None]], disconnect: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[None]:
        """Keep trying to hold the lock, connected while holding it, until the block ends."""
        task = asyncio.create_task(self._run(connect, disconnect))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(
        self, connect: Callable[[], Awaitable[None]], disconnect: Callable[[], Awaitable[None]]
    ) -> None:
        try:
            while True:
                if self.holding:
                    await self._renew(disconnect)
                elif await self._acquire():
                    log.info("this replica holds the Slack Socket Mode connection")
                    try:
                        await connect()
                    except Exception as e:
                        log.warning("cannot open the Socket Mode connection: %s", e)
                        await self._release()
                await asyncio.sleep(self._interval)
        finally:
            if self.holding:
                # Disconnect first, release second: the next holder connects only after.
                await disconnect()
                await self._release()

    async def _release(self) -> None:
        with contextlib.suppress(LockError, RedisError, OSError):
            await self._lock.release()
        self.holding = False

    async def _acquire(self) -> bool:
        try:
            self.holding = bool(await self._lock.acquire(blocking=False, token=self._token))
        except (RedisError, OSError) as e:
            log.warning("cannot reach Redis for the Socket Mode lock: %s", e)
            self.holding = False
        return self.holding

    async def _renew(self, disconnect: Callable[[], Awaitable[None]]) -> None:
        try:
            await self._lock.reacquire()
        except LockError:
            log.warning("another replica took the Socket Mode lock; disconnecting")
            self.holding = False
            await disconnect()
        except (RedisError, OSError) as e:
            log.warning("cannot renew the Socket Mode lock (keeping the connection): %s", e)
