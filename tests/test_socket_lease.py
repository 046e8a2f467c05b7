"""The Socket Mode lease on a real Redis: one holder at a time, handover, a lost lock, a failed
connection. (Failover between real processes is in ``test_replicas.py``.)"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from bot.platforms.slack.socket_lease import SOCKET_LOCK_KEY, SocketModeLease
from tests.loopback import eventually

TTL = 1.5  # seconds; the lease acts every TTL / 3


class Connection:
    """Stands in for the Socket Mode handler: records connects and disconnects."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[str] = []
        self._fail = fail

    @property
    def connected(self) -> bool:
        return bool(self.events) and self.events[-1] == "connect"

    async def connect(self) -> None:
        self.events.append("connect")
        if self._fail:
            raise ConnectionError("Slack is unreachable")

    async def disconnect(self) -> None:
        self.events.append("disconnect")


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


async def test_one_holder_at_a_time_and_a_handover_without_waiting_for_expiry(
    client: redis.asyncio.Redis, namespace: str
) -> None:
    holder, standby = Connection(), Connection()
    holding = SocketModeLease(client, namespace, TTL).hold(holder.connect, holder.disconnect)
    await holding.__aenter__()
    held = True
    try:
        await eventually(lambda: holder.connected, timeout=5)
        async with SocketModeLease(client, namespace, TTL).hold(
            standby.connect, standby.disconnect
        ):
            await asyncio.sleep(2 * TTL)  # several renewals and attempts
            assert (holder.events, standby.events) == (["connect"], [])
            value = (await client.get(f"{namespace}:{SOCKET_LOCK_KEY}")).decode()
            assert value.split(":")[1] == str(os.getpid())
            held = False
            await holding.__aexit__(None, None, None)
            assert holder.events == ["connect", "disconnect"]
            # Released, not left to expire: the key is gone (or already the standby's) the
            # moment the holder has let go, whatever the machine's load.
            after = await client.get(f"{namespace}:{SOCKET_LOCK_KEY}")
            assert after is None or after.decode() != value
            await eventually(lambda: standby.connected, timeout=5)
    finally:
        if held:
            await holding.__aexit__(None, None, None)
    assert standby.events == ["connect", "disconnect"]
    assert await client.get(f"{namespace}:{SOCKET_LOCK_KEY}") is None


async def test_a_holder_that_loses_its_lock_disconnects(
    client: redis.asyncio.Redis, namespace: str
) -> None:
    connection = Connection()
    async with SocketModeLease(client, namespace, TTL).hold(
        connection.connect, connection.disconnect
    ):
        await eventually(lambda: connection.connected, timeout=5)
        # Another replica's lock after this one's expired (a long pause, say).
        await client.set(f"{namespace}:{SOCKET_LOCK_KEY}", b"elsewhere:1:x", px=60_000)
        await eventually(lambda: not connection.connected, timeout=5)
    assert connection.events == ["connect", "disconnect"]
    assert await client.get(f"{namespace}:{SOCKET_LOCK_KEY}") == b"elsewhere:1:x"


async def test_a_holder_that_cannot_connect_lets_another_replica_take_over(
    client: redis.asyncio.Redis, namespace: str
) -> None:
    broken, working = Connection(fail=True), Connection()
    async with SocketModeLease(client, namespace, TTL).hold(broken.connect, broken.disconnect):
        await eventually(lambda: bool(broken.events), timeout=5)
        async with SocketModeLease(client, namespace, TTL).hold(
            working.connect, working.disconnect
        ):
            await eventually(lambda: working.connected, timeout=5)
            tries = len(broken.events)
            await asyncio.sleep(2 * TTL)
            assert working.connected and len(broken.events) == tries  # it has the lock now
    assert set(broken.events) == {"connect"}  # its failed connections needed no disconnect
