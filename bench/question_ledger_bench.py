"""What keeping a question durable costs per answer: the Redis question ledger (accept, mark
posting, finish: three script calls), the same with the posting claimed in Postgres (an
INSERT and an UPDATE more), against a job per question on the procrastinate queue the
ingestion jobs use (defer, a worker's fetch, finish), one question at a time, on an embedded
Postgres and an embedded Redis.

Run from the repository root::

    .venv/bin/python bench/question_ledger_bench.py [--questions 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import procrastinate
from procrastinate.jobs import Status

from bot.core.cache import redis_client
from bot.service.embedded import EmbeddedRedis, start_postgres, stop_postgres
from bot.service.jobs import libpq_url
from bot.service.question_posts import PgQuestionPosts
from bot.service.questions import RedisQuestionLedger
from knowledge.database import create_engine, ensure_database, migrate

QUEUE = "bench-questions"


async def ledger_cycles(url: str, count: int, posts: PgQuestionPosts | None = None) -> list[float]:
    client = redis_client(url)
    ledger = RedisQuestionLedger(client, f"bench-{uuid.uuid4().hex[:8]}", posts=posts)
    times = []
    for n in range(count):
        started = time.perf_counter()
        await ledger.accept(f"slack:event:Ev{n}", {"body": {"event": {"text": "x" * 300}}}, 3600)
        await ledger.posting(f"slack:event:Ev{n}")
        await ledger.finish(f"slack:event:Ev{n}")
        times.append(time.perf_counter() - started)
    await client.aclose()
    return times


async def job_cycles(database_url: str, count: int) -> list[float]:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database_url))

    @app.task(name="bench.question", queue=QUEUE)
    async def question(body: dict[str, object]) -> None: ...

    times = []
    async with app.open_async():
        manager = app.job_manager
        worker = await manager.register_worker()
        for n in range(count):
            started = time.perf_counter()
            await question.defer_async(body={"event": {"text": "x" * 300, "n": n}})
            job = await manager.fetch_job(queues=[QUEUE], worker_id=worker)
            assert job is not None
            await manager.finish_job(job, Status.SUCCEEDED, delete_job=True)
            times.append(time.perf_counter() - started)
        await manager.unregister_worker(worker)
    return times


def _describe(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = statistics.quantiles(ms, n=20)[18]
    return f"{name}: p50 {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms per question"


async def main(args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    database = await ensure_database(await start_postgres(home), "bench")
    engine = create_engine(database)
    await migrate(engine, embedding_dimension=384)
    redis = EmbeddedRedis(home / "redis")
    try:
        redis_url = await redis.start()
        print(_describe("Redis question ledger", await ledger_cycles(redis_url, args.questions)))
        with_posts = await ledger_cycles(redis_url, args.questions, PgQuestionPosts(engine))
        print(_describe("Redis question ledger + posting claimed in Postgres", with_posts))
        jobs = await job_cycles(libpq_url(database), args.questions)
        print(_describe("procrastinate job", jobs))
    finally:
        await engine.dispose()
        redis.stop()
        await stop_postgres(home)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
