"""Background ingestion jobs on a Postgres-backed queue (procrastinate) that every replica shares.

``/kb add <url>`` in Slack and ``kb add <url>`` in Teams queue a job and answer at once. A
replica with job workers (``SUPPORTBOT_JOB_WORKERS``) runs it and tells the admin, in the chat
the command came from, when it starts and how it ended.

Nothing is lost to a replica that dies: a running job's worker sends heartbeats, and once
they stop for ``SUPPORTBOT_JOB_STALLED_SECONDS`` another replica's sweeper puts the job back in
the queue. Nothing is stored twice either: a document is keyed by its source and its chunks by
content, so a job run again after a crash updates the same document (or finds it unchanged).
On SIGTERM a worker finishes its job within the shutdown timeout, or hands it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import procrastinate
import psycopg
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from procrastinate.job_context import JobContext
from procrastinate.jobs import Status
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.types import ReplyTo
from bot.platforms import admin_messages
from bot.platforms.delivery import Reporter
from bot.service.metrics import Metrics
from knowledge.database import GuardedConnection

log = logging.getLogger(__name__)

INGEST_TASK = "supportbot.ingest"
QUEUE = "ingestion"
CONNECT_TIMEOUT_SECONDS = 5.0
WORKER_RESTART_SECONDS = 5.0
# Any constant will do, as long as nothing else takes this advisory lock.
_SWEEP_LOCK = 0x5B07_1D6E


Ingest = Callable[[str, tuple[str, ...]], Awaitable[str]]
TaskRegistration = Callable[[procrastinate.App], None]
"""Registers more tasks (on ``QUEUE``) with the app a replica's workers run."""


class JobQueueError(RuntimeError):
    """The job queue cannot be used (its database is down); the message says why."""


@dataclass(frozen=True)
class JobOptions:
    """``max_attempts`` runs at most, the n-th retry ``n * retry_seconds`` after a failure."""

    workers: int = 1
    stalled_seconds: float = 30.0
    shutdown_timeout: float = 20.0
    max_attempts: int = 5
    retry_seconds: int = 5


class IngestionJobs:
    """Queues ingestion jobs and, in ``supportbot serve``, runs them."""

    def __init__(
        self, database_url: str, engine: AsyncEngine, metrics: Metrics, options: JobOptions
    ) -> None:
        self._conninfo = libpq_url(database_url)
        self._app = procrastinate.App(connector=procrastinate.PsycopgConnector())
        self._pool: AsyncConnectionPool | None = None
        self._engine = engine
        self._metrics = metrics
        self._options = options

    async def close(self) -> None:
        if self._pool is not None:
            await self._app.close_async()
            await self._pool.close()
            self._pool = None

    async def submit(self, source: str, scopes: tuple[str, ...], reply_to: ReplyTo) -> int | None:
        """Queue an ingestion of ``source``; returns the job id, or None if one is queued."""
        job_id = await self.defer(
            INGEST_TASK,
            f"ingest:{source}",
            source=source,
            scopes=list(scopes),
            reply_to={"platform": reply_to.platform, "address": dict(reply_to.address)},
        )
        if job_id is not None:
            self._metrics.ingestion_jobs.labels("queued").inc()
        return job_id

    @property
    def options(self) -> JobOptions:
        return self._options

    async def pending(self, lock: str) -> bool:
        """Whether a job with ``lock`` is queued or running."""
        async with GuardedConnection(self._engine, begin=False) as connection:
            found = await connection.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs "
                    "WHERE lock = :lock AND status IN ('todo', 'doing'))"
                ),
                {"lock": lock},
            )
        return bool(found)

    async def defer(self, task: str, lock: str, **arguments: Any) -> int | None:
        """Queue ``task`` with ``arguments``; None when a job with the same ``lock`` is queued.
        Raises ``JobQueueError`` when the queue's database cannot be reached."""
        try:
            await self._open()
            return await self._app.configure_task(
                task, queue=QUEUE, lock=lock, queueing_lock=lock
            ).defer_async(**arguments)
        except AlreadyEnqueued:
            return None
        except (ConnectorException, OSError) as e:
            raise JobQueueError(_first_line(e)) from e

    @contextlib.asynccontextmanager
    async def running(
        self, ingest: Ingest, reporter: Reporter, *more: TaskRegistration
    ) -> AsyncIterator[None]:
        """Run this replica's workers and the stalled-job sweeper until the block ends.

        Leaving the block stops taking jobs and gives a running one the shutdown timeout to
        finish; after that it is aborted and goes back to the queue for another replica.
        """
        if self._options.workers == 0:
            yield
            return
        await self._open()
        self._register(ingest, reporter)
        for register in more:
            register(self._app)
        worker = asyncio.create_task(self._work_forever())
        sweeper = asyncio.create_task(self._sweep_forever())
        try:
            yield
        finally:
            sweeper.cancel()
            worker.cancel()
            await asyncio.gather(sweeper, worker, return_exceptions=True)

    async def retry_stalled(self) -> int:
        """Put back in the queue the jobs of replicas that stopped sending heartbeats.

        One replica sweeps at a time (an advisory lock), so a job is never put back twice.
        Returns how many jobs were put back.
        """
        manager = self._app.job_manager
        async with self._engine.begin() as connection:
            locked = await connection.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _SWEEP_LOCK}
            )
            if not locked:
                return 0
            stalled = await manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=self._options.stalled_seconds
            )
            count = 0
            for job in stalled:
                if job.attempts + 1 >= self._options.max_attempts:
                    log.warning("job %s stalled %d times; giving up", job.id, job.attempts + 1)
                    await manager.finish_job(job, Status.FAILED, delete_job=False)
                    continue
                log.warning("job %s stalled (its replica stopped); queueing it again", job.id)
                await manager.retry_job(job)
                self._metrics.ingestion_jobs.labels("retried").inc()
                count += 1
            return count

    async def _open(self) -> None:
        if self._pool is not None:
            return
        pool = AsyncConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=4,
            open=False,
            check=AsyncConnectionPool.check_connection,
            timeout=CONNECT_TIMEOUT_SECONDS,
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except PoolTimeout:
            await pool.close()
            raise JobQueueError(await _connection_error(self._conninfo)) from None
        await self._app.open_async(pool)
        self._pool = pool

    def _register(self, ingest: Ingest, reporter: Reporter) -> None:
        metrics, max_attempts = self._metrics, self._options.max_attempts

        async def run(
            context: JobContext, source: str, scopes: list[str], reply_to: dict[str, Any]
        ) -> None:
            destination = ReplyTo(reply_to["platform"], reply_to.get("address") or {})
            attempt = context.job.attempts + 1
            await reporter.report(destination, admin_messages.job_started(source, attempt))
            started = time.perf_counter()
            try:
                result = await ingest(source, tuple(scopes))
            except Exception as e:
                log.warning("job %s (%s) attempt %d failed: %s", context.job.id, source, attempt, e)
                if attempt >= max_attempts:
                    metrics.ingestion_jobs.labels("failed").inc()
                    await reporter.report(destination, admin_messages.job_failed(source, attempt))
                else:
                    metrics.ingestion_jobs.labels("retried").inc()
                raise
            metrics.ingestion_seconds.observe(time.perf_counter() - started)
            metrics.ingestion_jobs.labels("succeeded").inc()
            await reporter.report(destination, result)

        self._app.task(
            name=INGEST_TASK,
            queue=QUEUE,
            pass_context=True,
            retry=procrastinate.RetryStrategy(
                max_attempts=max_attempts - 1,
                wait=self._options.retry_seconds,
                linear_wait=self._options.retry_seconds,
            ),
        )(run)

    async def _work_forever(self) -> None:
        # The worker stops when it loses its database connection (a failover, a restart of
        # Postgres); this replica must not quietly stop taking jobs then.
        stalled = self._options.stalled_seconds
        while True:
            try:
                await self._app.run_worker_async(
                    queues=[QUEUE],
                    name=f"supportbot-{socket.gethostname()}",
                    concurrency=self._options.workers,
                    install_signal_handlers=False,
                    shutdown_graceful_timeout=self._options.shutdown_timeout,
                    update_heartbeat_interval=stalled / 3,
                    stalled_worker_timeout=stalled,
                )
                log.warning("the job worker stopped; starting it again")
            except Exception as e:
                log.warning("the job worker failed (%s); starting it again", _first_line(e))
            await asyncio.sleep(WORKER_RESTART_SECONDS)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._options.stalled_seconds / 3)
            try:
                await self.retry_stalled()
            except Exception as e:
                log.warning("cannot check for stalled jobs: %s", _first_line(e))


def libpq_url(database_url: str) -> str:
    """``DATABASE_URL`` as libpq takes it (no SQLAlchemy driver name)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _connection_error(conninfo: str) -> str:
    """Why the database cannot be reached, as psycopg says it in one line."""
    try:
        connection = await psycopg.AsyncConnection.connect(
            conninfo, connect_timeout=int(CONNECT_TIMEOUT_SECONDS)
        )
    except psycopg.Error as e:
        return f"cannot connect to the database: {_first_line(e)}"
    await connection.close()
    return f"the database did not answer within {CONNECT_TIMEOUT_SECONDS:g} s"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
