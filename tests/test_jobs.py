"""Background ingestion jobs on the real Postgres queue: retries, give-up, one queued job per
source, a queue that is down, and the sweeper that re-queues a dead replica's job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import procrastinate
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.types import ReplyTo
from bot.platforms.admin import AdminCommand, KnowledgeAdmin
from bot.service.jobs import (
    INGEST_TASK,
    QUEUE,
    IngestionJobs,
    JobOptions,
    JobQueueError,
    libpq_url,
)
from bot.service.metrics import Metrics
from bot.service.settings import Settings
from bot.service.wiring import open_knowledge_base
from knowledge.errors import DatabaseUnavailableError
from tests.environment import core_environment
from tests.loopback import eventually

SLACK = ReplyTo("slack", {"response_url": "https://hooks.test/1", "user": "UADMIN"})


class RecordingReporter:
    def __init__(self) -> None:
        self.reports: list[tuple[ReplyTo, str]] = []

    async def report(self, reply_to: ReplyTo, markdown: str) -> None:
        self.reports.append((reply_to, markdown))

    def texts(self) -> list[str]:
        return [text for _, text in self.reports]


@asynccontextmanager
async def ingestion_jobs(
    database_url: str, engine: AsyncEngine, **options: float
) -> AsyncIterator[IngestionJobs]:
    jobs = IngestionJobs(database_url, engine, Metrics(), JobOptions(**options))  # type: ignore[arg-type]
    try:
        yield jobs
    finally:
        await jobs.close()


async def _job_rows(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT status, attempts FROM procrastinate_jobs"))
        return [(str(status), attempts) for status, attempts in rows]


async def test_a_job_that_fails_on_the_database_is_retried_and_reports_its_result(
    database_url: str, engine: AsyncEngine
) -> None:
    calls: list[tuple[str, tuple[str, ...]]] = []

    async def ingest(source: str, scopes: tuple[str, ...]) -> str:
        calls.append((source, scopes))
        if len(calls) == 1:
            raise DatabaseUnavailableError("cannot use the database: connection refused")
        return f"Added **{source}**"

    reporter = RecordingReporter()
    async with ingestion_jobs(database_url, engine, retry_seconds=0) as jobs:
        job_id = await jobs.submit("https://hb.test/travel", ("hr",), SLACK)
        assert job_id is not None
        async with jobs.running(ingest, reporter):
            await eventually(lambda: any("Added" in t for t in reporter.texts()), timeout=20)
    assert calls == [("https://hb.test/travel", ("hr",))] * 2
    assert reporter.texts() == [
        "Started adding https://hb.test/travel…",
        "Started adding https://hb.test/travel (attempt 2: the previous one was interrupted)…",
        "Added **https://hb.test/travel**",
    ]
    assert all(reply_to == SLACK for reply_to, _ in reporter.reports)
    assert await _job_rows(engine) == [("succeeded", 2)]


async def test_a_job_that_keeps_failing_gives_up_and_says_so(
    database_url: str, engine: AsyncEngine
) -> None:
    async def ingest(_source: str, _scopes: tuple[str, ...]) -> str:
        raise DatabaseUnavailableError("cannot use the database: connection refused")

    reporter = RecordingReporter()
    async with ingestion_jobs(database_url, engine, retry_seconds=0, max_attempts=3) as jobs:
        await jobs.submit("https://hb.test/travel", (), SLACK)
        async with jobs.running(ingest, reporter):
            await eventually(
                lambda: any("Could not add" in t for t in reporter.texts()), timeout=20
            )
            await asyncio.sleep(0.5)
    assert sum("Started adding" in t for t in reporter.texts()) == 3
    assert "after 3 attempts" in reporter.texts()[-1]
    assert await _job_rows(engine) == [("failed", 3)]


async def test_a_source_already_waiting_in_the_queue_is_not_queued_again(
    database_url: str, engine: AsyncEngine
) -> None:
    async with ingestion_jobs(database_url, engine, workers=0) as jobs:
        assert await jobs.submit("https://hb.test/a", (), SLACK) is not None
        assert await jobs.submit("https://hb.test/a", ("hr",), SLACK) is None
        assert await jobs.submit("https://hb.test/b", (), SLACK) is not None
    assert await _job_rows(engine) == [("todo", 0), ("todo", 0)]


async def test_kb_add_says_plainly_when_the_queue_is_down(
    database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    settings = Settings.from_env(core_environment(database_url=database_url, redis_url=redis_url))
    down = "postgresql://nobody@127.0.0.1:9/nothing"
    async with (
        open_knowledge_base(settings) as kb,
        ingestion_jobs(down, engine, workers=0) as jobs,
    ):
        with pytest.raises(JobQueueError):
            await jobs.submit("https://hb.test/a", (), SLACK)
        reply = await KnowledgeAdmin(kb, jobs).queue_add(
            AdminCommand("add", "https://hb.test/a"), SLACK
        )
    assert reply.startswith(
        "I couldn't queue that: the job queue is unavailable (cannot connect to the database: "
    )
    assert "Connection refused" in reply
    assert "\n" not in reply


async def test_the_job_of_a_replica_that_stopped_is_queued_again_once(
    database_url: str, engine: AsyncEngine
) -> None:
    async with ingestion_jobs(database_url, engine, workers=0, stalled_seconds=60) as jobs:
        job_id = await jobs.submit("https://hb.test/a", (), SLACK)
        async with dead_replica_running_a_job(database_url, INGEST_TASK) as taken:
            assert taken == job_id
            assert await jobs.retry_stalled() == 0  # its heartbeat is still fresh
            # Its last heartbeat a minute and a second ago, without waiting for the clock.
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "UPDATE procrastinate_workers "
                        "SET last_heartbeat = now() - interval '61 seconds'"
                    )
                )
            assert await jobs.retry_stalled() == 1
            assert await jobs.retry_stalled() == 0
    assert await _job_rows(engine) == [("todo", 1)]


@asynccontextmanager
async def dead_replica_running_a_job(database_url: str, task: str) -> AsyncIterator[int | None]:
    """Another replica's worker that takes the next job (one of ``task``, if any) and then
    sends no more heartbeats."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=libpq_url(database_url))
    )
    async with app.open_async():
        worker_id = await app.job_manager.register_worker()
        job = await app.job_manager.fetch_job(queues=[QUEUE], worker_id=worker_id)
        assert job is None or job.task_name == task
        yield job.id if job is not None else None
