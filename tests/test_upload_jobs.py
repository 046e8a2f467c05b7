"""The job that ingests a file sent to the bot, on the real Postgres queue: run again after
its worker died, never twice into two documents, nothing queued twice, the bytes dropped once
the document is stored, a corrupt file reported, a job that gives up removing the file, and
old uploads cleared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.knowledge_base import KnowledgeBase
from bot.core.types import ReplyTo
from bot.platforms.admin import KnowledgeAdmin
from bot.service.jobs import IngestionJobs, JobOptions
from bot.service.metrics import Metrics
from bot.service.settings import Settings
from bot.service.upload_jobs import KEPT_DAYS, LOCK_PREFIX, UPLOAD_TASK, UploadJobs
from bot.service.uploads import PgUploads, Upload
from bot.service.wiring import open_knowledge_base
from knowledge.errors import DatabaseUnavailableError
from knowledge.loading import RawSource, uploaded
from tests.environment import core_environment
from tests.loopback import eventually
from tests.test_jobs import RecordingReporter, dead_replica_running_a_job

SLACK = ReplyTo("slack", {"channel": "DADMIN", "user": "UADMIN", "private": True})
EXPENSES = Upload(
    "slack:F0001",
    "expenses.md",
    "https://acme.slack.com/files/UADMIN/F0001/expenses.md",
    b"---\ntitle: Expenses Policy\n---\n# Expenses Policy\n\nMeals are refunded up to 40 euros.\n",
)
MAX_BYTES = 1_000_000


@asynccontextmanager
async def upload_jobs(
    database_url: str, engine: AsyncEngine, **options: float
) -> AsyncIterator[tuple[IngestionJobs, UploadJobs]]:
    jobs = IngestionJobs(database_url, engine, Metrics(), JobOptions(**options))  # type: ignore[arg-type]
    try:
        yield jobs, UploadJobs(jobs, PgUploads(engine), Metrics(), MAX_BYTES)
    finally:
        await jobs.close()


@asynccontextmanager
async def knowledge_base(database_url: str, redis_url: str) -> AsyncIterator[KnowledgeBase]:
    settings = Settings.from_env(core_environment(database_url=database_url, redis_url=redis_url))
    async with open_knowledge_base(settings) as kb:
        yield kb


def ingest_with(kb: KnowledgeBase) -> KnowledgeAdmin:
    return KnowledgeAdmin(kb)


async def _rows(engine: AsyncEngine, sql: str, **parameters: object) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql), parameters)]


async def _jobs(engine: AsyncEngine) -> list[tuple[object, ...]]:
    return await _rows(
        engine,
        "SELECT status, attempts FROM procrastinate_jobs WHERE task_name = :task",
        task=UPLOAD_TASK,
    )


async def _uploads(engine: AsyncEngine) -> list[tuple[object, ...]]:
    return await _rows(
        engine, "SELECT file_key, length(data), finished_at IS NOT NULL FROM uploads"
    )


async def test_the_job_of_a_worker_that_died_is_run_again_elsewhere_into_one_document(
    database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    reporter = RecordingReporter()
    async with (
        knowledge_base(database_url, redis_url) as kb,
        upload_jobs(database_url, engine, workers=0, stalled_seconds=60) as (jobs, uploads),
    ):
        assert await uploads.submit(EXPENSES, SLACK) == "queued"
        async with dead_replica_running_a_job(database_url, UPLOAD_TASK) as taken:
            assert taken is not None
            # The dead worker got as far as storing the document, not as far as dropping the
            # bytes: the run elsewhere must not add it twice.
            admin = ingest_with(kb)
            source = uploaded(EXPENSES.name, EXPENSES.data, link=EXPENSES.link, max_bytes=MAX_BYTES)
            assert "Added" in await admin.ingest(source, ())
            # The same file delivered again meanwhile queues nothing.
            assert await uploads.submit(EXPENSES, SLACK) == "waiting"
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "UPDATE procrastinate_workers "
                        "SET last_heartbeat = now() - interval '61 seconds'"
                    )
                )
            assert await jobs.retry_stalled() == 1

    # Another replica, with workers.
    async with upload_jobs(database_url, engine, retry_seconds=0) as (jobs, uploads):
        async with knowledge_base(database_url, redis_url) as kb:
            admin = ingest_with(kb)

            async def ingest(source: RawSource) -> str:
                return await admin.ingest(source, ())

            async with jobs.running(admin.ingest, reporter, uploads.tasks(ingest, reporter)):
                await eventually(lambda: len(reporter.texts()) >= 2, timeout=20)
            documents = await kb.store.list_documents()
        assert await uploads.submit(EXPENSES, SLACK) == "finished"
    assert reporter.texts()[0] == (
        "Started adding expenses.md (attempt 2: the previous one was interrupted)…"
    )
    assert "Expenses Policy" in reporter.texts()[1]
    assert "Added" not in reporter.texts()[1]  # found unchanged, not added again
    assert [d.title for d in documents] == ["Expenses Policy"]
    assert await _jobs(engine) == [("succeeded", 2)]  # taken twice
    assert await _uploads(engine) == [("slack:F0001", None, True)]


async def test_a_file_stored_by_a_replica_that_died_before_queueing_it_is_queued_once(
    database_url: str, engine: AsyncEngine
) -> None:
    async with upload_jobs(database_url, engine, workers=0) as (_, uploads):
        assert await PgUploads(engine).store(EXPENSES) == "new"  # and then the replica died
        assert await uploads.submit(EXPENSES, SLACK) == "queued"
        assert await uploads.submit(EXPENSES, SLACK) == "waiting"
    assert await _jobs(engine) == [("todo", 0)]
    assert await _uploads(engine) == [("slack:F0001", len(EXPENSES.data), False)]


async def test_a_corrupt_file_is_reported_with_the_loaders_reason_and_not_kept(
    database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    broken = Upload("teams:ABC", "broken.pdf", "https://contoso.test/broken.pdf", b"not a pdf")
    reporter = RecordingReporter()
    async with (
        knowledge_base(database_url, redis_url) as kb,
        upload_jobs(database_url, engine, retry_seconds=0) as (jobs, uploads),
    ):
        admin = ingest_with(kb)

        async def ingest(source: RawSource) -> str:
            return await admin.ingest(source, ())

        assert await uploads.submit(broken, SLACK) == "queued"
        async with jobs.running(admin.ingest, reporter, uploads.tasks(ingest, reporter)):
            await eventually(lambda: len(reporter.texts()) >= 2, timeout=20)
        documents = await kb.store.list_documents()
    assert reporter.texts()[1].startswith("Could not add broken.pdf: ")
    assert documents == []
    assert await _jobs(engine) == [("succeeded", 1)]  # run once, not retried
    assert await _uploads(engine) == [("teams:ABC", None, True)]


async def test_a_job_that_gives_up_removes_the_file_so_it_can_be_sent_again(
    database_url: str, engine: AsyncEngine
) -> None:
    async def ingest(_source: RawSource) -> str:
        raise DatabaseUnavailableError("cannot use the database: connection refused")

    async def never(_source: str, _scopes: tuple[str, ...]) -> str:
        raise AssertionError("no link was queued")

    reporter = RecordingReporter()
    async with upload_jobs(database_url, engine, retry_seconds=0, max_attempts=2) as (
        jobs,
        uploads,
    ):
        assert await uploads.submit(EXPENSES, SLACK) == "queued"
        async with jobs.running(never, reporter, uploads.tasks(ingest, reporter)):
            await eventually(
                lambda: any("Could not add" in t for t in reporter.texts()), timeout=20
            )
        assert await _uploads(engine) == []
        assert await uploads.submit(EXPENSES, SLACK) == "queued"
    assert reporter.texts()[-1].startswith("Could not add expenses.md after 2 attempts")


async def test_old_finished_uploads_and_bytes_never_queued_are_cleared(
    database_url: str, engine: AsyncEngine
) -> None:
    def upload(key: str) -> Upload:
        return Upload(key, f"{key}.md", "", b"# A\n\nA.\n")

    stored = PgUploads(engine)
    async with upload_jobs(database_url, engine, workers=0) as (_, uploads):
        for key in ("finished-long-ago", "finished-lately", "never-queued"):
            await stored.store(upload(key))
        assert await uploads.submit(upload("queued-long-ago"), SLACK) == "queued"
        await stored.finish("finished-long-ago")
        await stored.finish("finished-lately")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE uploads SET received_at = now() - interval '8 days', "
                    "finished_at = CASE WHEN file_key = 'finished-long-ago' "
                    "THEN now() - interval '8 days' ELSE finished_at END "
                    "WHERE file_key <> 'finished-lately'"
                )
            )
        assert await stored.clear_old(KEPT_DAYS, LOCK_PREFIX) == 2
    assert sorted(key for key, *_ in await _uploads(engine)) == [
        "finished-lately",
        "queued-long-ago",
    ]
