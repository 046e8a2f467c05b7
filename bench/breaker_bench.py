"""Benchmark of what the chat model's circuit breaker costs per answer, and what it saves.

On a fresh database in an embedded Postgres with the sample handbook (hashing embedder), and a
Redis (a private embedded one, or ``--redis-url``):

1. A model call through ``GuardedChatModel`` against the bare model (an in-process model that
   answers at once), one at a time and ``--concurrency`` at a time: the breaker's Redis round
   trip (one script call while the breaker is closed).
2. Whole answers (``AnswerService.answer``, every question new, so no cache hits) with the model
   behind the breaker and without it, in alternating rounds.
3. An answer while the model is down: with the breaker closed each asker waits out the failing
   call (a model that fails after ``--failure-seconds``, as a timeout would); with it open the
   offline writer's quoted answer comes at once.

Run from the repository root::

    .venv/bin/python bench/breaker_bench.py [--calls 2000] [--answers 300] [--concurrency 50]
        [--failure-seconds 2] [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnsweringOptions, AnswerService
from bot.core.breaker import BreakerOptions, GuardedChatModel, RedisCircuitBreaker
from bot.core.cache import NoAnswerCache, redis_client
from bot.core.coverage import MinimumSimilarity
from bot.core.llm import ChatMessage, ChatModel, Completion, CompletionDelta, ModelFailingError
from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.prompts import Prompts
from bot.core.types import Question, Usage
from bot.core.writers import DegradingAnswerWriter, LLMAnswerWriter
from bot.service.embedded import EmbeddedRedis, start_postgres, stop_postgres
from knowledge.database import create_engine, ensure_database, migrate
from knowledge.embedders import HashingEmbedder
from knowledge.ingest import ingest
from knowledge.loading import LoadOptions
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from knowledge.store import PgDocumentStore

TOPICS = ["annual leave", "sick leave", "expenses", "business travel", "a lost laptop"]
MESSAGES = [ChatMessage("user", "How many days of annual leave do I get?")]


class InstantModel:
    """A chat model that answers at once, citing the first source; or, ``failing``, fails
    after ``seconds`` as a model that times out would."""

    name = "simulated"

    def __init__(self, failing: bool = False, seconds: float = 0.0) -> None:
        self.failing, self.seconds = failing, seconds

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Completion:
        if self.failing:
            await asyncio.sleep(self.seconds)
            raise ModelFailingError("the model did not answer in time")
        return Completion("The policy says so [1].", self.name, Usage(100, 10))

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int
    ) -> AsyncIterator[CompletionDelta | Completion]:
        yield await self.complete(messages, max_tokens=max_tokens)


def ms(values: Sequence[float]) -> str:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {cuts[49] * 1000:.3f} ms, p95 {cuts[94] * 1000:.3f} ms"


class Durations(list[float]):
    """Each call's duration, and the wall time of them all."""

    wall = 0.0

    def rate(self) -> str:
        return f"{len(self) / self.wall:,.0f}/s"


async def timed(calls: int, call: Callable[[], Awaitable[object]], concurrency: int) -> Durations:
    """The duration of each of ``calls`` calls, ``concurrency`` at a time."""
    durations = Durations()
    started = time.perf_counter()

    async def worker(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await call()
            durations.append(time.perf_counter() - started)

    await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
    durations.wall = time.perf_counter() - started
    return durations


def breaker_over(client: object, namespace: str) -> RedisCircuitBreaker:
    return RedisCircuitBreaker(client, namespace, BreakerOptions(failures=3))  # type: ignore[arg-type]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="breaker-bench-", dir="/tmp") as home:
        embedded = None if args.redis_url else EmbeddedRedis(Path(home))
        url = args.redis_url or await embedded.start()  # type: ignore[union-attr]
        client = redis_client(url)
        print(f"Redis: {url}")
        server = await start_postgres(Path(home))
        engine = create_engine(await ensure_database(server, "bench"), pool_size=10)
        try:
            await measure(args, client, engine)
        finally:  # the servers would outlive their deleted folder
            await client.aclose()
            await engine.dispose()
            if embedded is not None:
                embedded.stop()
            await stop_postgres(Path(home))


async def measure(
    args: argparse.Namespace, client: redis.asyncio.Redis, engine: AsyncEngine
) -> None:
    model = InstantModel()
    guarded = GuardedChatModel(model, breaker_over(client, uuid.uuid4().hex))
    await guarded.complete(MESSAGES, max_tokens=10)  # loads the scripts
    for concurrency in (1, args.concurrency):
        bare = await timed(args.calls, lambda: model.complete(MESSAGES, max_tokens=10), concurrency)
        behind = await timed(
            args.calls, lambda: guarded.complete(MESSAGES, max_tokens=10), concurrency
        )
        print(
            f"model call, {concurrency} at a time: bare {ms(bare)} ({bare.rate()}); behind "
            f"the breaker {ms(behind)} ({behind.rate()})"
        )

    await migrate(engine, embedding_dimension=384)
    embedder = HashingEmbedder(384)
    store = PgDocumentStore(engine, embedder)
    async for _ in ingest(
        [str(SAMPLE_DOCS)], store, load_options=LoadOptions(base_url=SAMPLE_BASE_URL)
    ):
        pass

    def service(chat: ChatModel, degrade: bool = False) -> AnswerService:
        writer = LLMAnswerWriter(chat, Prompts.load(), company="Brightwater")
        return AnswerService(
            retriever=PgHybridRetriever(engine, embedder, RetrievalOptions(min_similarity=0)),
            store=store,
            writer=DegradingAnswerWriter(writer, ExtractiveAnswerWriter()) if degrade else writer,
            cache=NoAnswerCache(),
            answer_log=PgAnswerLog(engine, Prices()),
            options=AnsweringOptions(coverage=MinimumSimilarity(0.0)),
        )

    plain, behind_service = service(model), service(guarded)
    counter = iter(range(10**9))

    async def ask(answers: AnswerService) -> None:
        answer = await answers.answer(Question(f"How does {TOPICS[0]} work? ({next(counter)})"))
        assert answer.grounded, answer.text

    without, with_breaker = Durations(), Durations()
    rounds = 5
    for _ in range(rounds):  # alternating, so both see the same machine
        for durations, answers in ((without, plain), (with_breaker, behind_service)):
            asking = functools.partial(ask, answers)
            batch = await timed(args.answers // rounds, asking, args.concurrency)
            durations += batch
            durations.wall += batch.wall
    print(
        f"answer, {args.concurrency} in flight: without the breaker {ms(without)} "
        f"({without.rate()}); with it {ms(with_breaker)} ({with_breaker.rate()})"
    )

    failing = InstantModel(failing=True, seconds=args.failure_seconds)
    down_breaker = breaker_over(client, uuid.uuid4().hex)
    down = service(GuardedChatModel(failing, down_breaker), degrade=True)
    waited = await timed(3, lambda: ask(down), 1)  # three failures open the breaker
    quoted = await timed(args.answers // 5, lambda: ask(down), 1)
    print(
        f"model down (fails after {args.failure_seconds:g} s): breaker closed, the first 3 "
        f"answers {ms(waited)}; breaker open, the next {len(quoted)} answers {ms(quoted)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--failure-seconds", type=float, default=2.0)
    parser.add_argument("--redis-url", help="a Redis to use instead of a private embedded one")
    asyncio.run(main(parser.parse_args()))
