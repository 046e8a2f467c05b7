"""A server that goes away and comes back, without stopping the real one: a loopback TCP port
that forwards every connection to it until ``cut`` drops them all and refuses new ones, and
``restore`` listens again on the same port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.engine import make_url

Connect = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class Outage:
    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def restore(self) -> None:
        """Accept and forward connections (again, on the same port)."""
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await self._connect()
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError):
            writer.close()


@asynccontextmanager
async def outage(connect: Connect) -> AsyncIterator[Outage]:
    """An ``Outage`` in front of what ``connect`` reaches, forwarding until cut."""
    proxy = Outage(connect)
    await proxy.restore()
    try:
        yield proxy
    finally:
        await proxy.cut()


@asynccontextmanager
async def postgres_outage(server_url: str, database_url: str) -> AsyncIterator[tuple[Outage, str]]:
    """``database_url``'s database behind an ``Outage`` (``server_url`` says how the server is
    reached: a Unix socket folder or a host), and the URL that goes through it."""
    server = make_url(server_url)
    socket_dir = server.query.get("host")
    if isinstance(socket_dir, str):
        path = f"{socket_dir}/.s.PGSQL.{server.port or 5432}"
        connect: Connect = lambda: asyncio.open_unix_connection(path)  # noqa: E731
    else:
        connect = lambda: asyncio.open_connection(server.host, server.port or 5432)  # noqa: E731
    async with outage(connect) as proxy:
        url = make_url(database_url).difference_update_query(["host"])
        yield (
            proxy,
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        )


@asynccontextmanager
async def redis_outage(redis_url: str) -> AsyncIterator[tuple[Outage, str]]:
    """``redis_url``'s server (a ``unix://`` socket or a host) behind an ``Outage``, and the
    URL that goes through it (same database)."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        path = parts.path
        connect: Connect = lambda: asyncio.open_unix_connection(path)  # noqa: E731
        db = (parse_qs(parts.query).get("db") or ["0"])[0]
    else:
        host, port = parts.hostname or "127.0.0.1", parts.port or 6379
        connect = lambda: asyncio.open_connection(host, port)  # noqa: E731
        db = parts.path.strip("/") or "0"
    async with outage(connect) as proxy:
        auth = f"{parts.username or ''}:{parts.password}@" if parts.password else ""
        yield proxy, f"redis://{auth}127.0.0.1:{proxy.port}/{db}"
