"""Benchmark of the answering core's own overhead and of a cache hit.

What it measures, on a fresh database in an embedded Postgres and a private embedded Redis,
with the sample handbook loaded:

1. The bot's own overhead per question with 50 questions in flight: the wall time of
   ``AnswerService.answer`` minus the time spent in the LLM and the embedder. The LLM is an
   in-process model that takes ``--llm-seconds`` (1 s) to answer, and questions arrive evenly
   spaced so that 50 are in flight at once, as they would be with a real model; the embedder
   is the hashing one, timed. What is left is the cache look-up, the corpus version, retrieval
   SQL, the prompt, citation checks, the cache write, the answer log and waiting for each other.
2. A cache hit's end-to-end time: the same question asked again, one at a time.

Run from the repository root::

    .venv/bin/python bench/answer_bench.py [--concurrency 50] [--rounds 6] [--hits 200]
        [--llm-seconds 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnsweringOptions, AnswerService
from bot.core.cache import RedisAnswerCache, redis_client
from bot.core.coverage import MinimumSimilarity
from bot.core.llm import ChatMessage, Completion, CompletionDelta
from bot.core.prompts import Prompts
from bot.core.types import Question, Usage
from bot.core.writers import LLMAnswerWriter
from bot.service.embedded import EmbeddedRedis, start_postgres, stop_postgres
from knowledge.database import create_engine, ensure_database, migrate
from knowledge.embedders import HashingEmbedder, Vectors
from knowledge.ingest import ingest
from knowledge.loading import LoadOptions
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from knowledge.store import PgDocumentStore

TOPICS = [
    "annual leave", "sick leave", "parental leave", "expenses", "business travel",
    "a lost laptop", "passwords", "remote work", "onboarding", "the code of conduct",
]  # fmt: skip
FORMS = ["How does {} work?", "What is the rule for {}?", "Who do I ask about {}?"]


class SlowModel:
    """A chat model that takes a fixed time to answer, citing the first source."""

    name = "simulated"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Completion:
        await asyncio.sleep(self.seconds)
        return Completion("The policy says so [1].", self.name, Usage(100, 10))

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int
    ) -> AsyncIterator[CompletionDelta | Completion]:
        yield await self.complete(messages, max_tokens=max_tokens)


class TimedEmbedder(HashingEmbedder):
    """The hashing embedder, remembering how long each call took."""

    def __init__(self, dimension: int) -> None:
        super().__init__(dimension)
        self.durations: list[float] = []

    async def embed(self, texts: Sequence[str]) -> Vectors:
        started = time.perf_counter()
        try:
            return await super().embed(texts)
        finally:
            self.durations.append(time.perf_counter() - started)


def percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="answer-bench-", dir="/tmp") as home:
        server = await start_postgres(Path(home))
        engine = create_engine(await ensure_database(server, "bench"), pool_size=10)
        redis_server = EmbeddedRedis(Path(home))
        client = redis_client(await redis_server.start())
        try:
            await migrate(engine, embedding_dimension=384)
            await measure(args, engine, client)
        finally:  # the servers would outlive their deleted folder
            await client.aclose()
            redis_server.stop()
            await engine.dispose()
            await stop_postgres(Path(home))


async def measure(
    args: argparse.Namespace, engine: AsyncEngine, client: redis.asyncio.Redis
) -> None:
    embedder, model = TimedEmbedder(384), SlowModel(args.llm_seconds)
    store = PgDocumentStore(engine, embedder)
    async for _ in ingest(
        [str(SAMPLE_DOCS)], store, load_options=LoadOptions(base_url=SAMPLE_BASE_URL)
    ):
        pass
    service = AnswerService(
        retriever=PgHybridRetriever(engine, embedder, RetrievalOptions(min_similarity=0)),
        store=store,
        writer=LLMAnswerWriter(model, Prompts.load(), company="Brightwater"),
        cache=RedisAnswerCache(client, 600),
        answer_log=PgAnswerLog(engine, Prices()),
        options=AnsweringOptions(coverage=MinimumSimilarity(0.0), prompt_version=uuid.uuid4().hex),
    )
    questions = [form.format(topic) for topic in TOPICS for form in FORMS]

    async def ask_at(delay: float, question: Question) -> float:
        await asyncio.sleep(delay)
        answer = await service.answer(question)
        assert answer.grounded and not answer.cached
        return answer.latency_ms

    # Evenly spaced arrivals keep `concurrency` questions in flight while the model works.
    spacing = args.llm_seconds / args.concurrency
    total = args.concurrency * args.rounds
    batch = [Question(f"{questions[i % len(questions)]} ({i})") for i in range(total)]
    embedder.durations.clear()
    started = time.perf_counter()
    latencies = await asyncio.gather(*(ask_at(i * spacing, q) for i, q in enumerate(batch)))
    wall = time.perf_counter() - started
    embed_ms = statistics.mean(embedder.durations) * 1000
    warm = latencies[args.concurrency :]  # the first second warms pools and caches
    overheads = [latency - args.llm_seconds * 1000 - embed_ms for latency in warm]
    print(f"{total} answers in {wall:.1f} s ({total / wall:.0f}/s), embedding {embed_ms:.2f} ms")

    hits: list[float] = []
    await service.answer(Question("How many days of annual leave do I get?"))
    for _ in range(args.hits):
        started = time.perf_counter()
        answer = await service.answer(Question("How many days of annual leave do I get?"))
        hits.append((time.perf_counter() - started) * 1000)
        assert answer.cached

    print(
        f"\noverhead per question, {args.concurrency} in flight "
        f"({len(overheads)} answers): p50 {percentile(overheads, 50):.1f} ms, "
        f"p95 {percentile(overheads, 95):.1f} ms (target: p95 < 50 ms)"
    )
    print(
        f"cache hit end to end ({len(hits)} asks): p50 {percentile(hits, 50):.2f} ms, "
        f"p95 {percentile(hits, 95):.2f} ms (target: < 10 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--hits", type=int, default=200)
    parser.add_argument("--llm-seconds", type=float, default=1.0)
    asyncio.run(main(parser.parse_args()))
