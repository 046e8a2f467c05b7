"""Benchmark of issue 19's promise: nothing lost, nothing twice, at 1,000 Slack events.

Three ``supportbot serve`` replicas on one embedded Postgres and one embedded Redis, the fake
Slack and a fake model that answers in ``--model-seconds`` (streamed, as the bot streams in
Slack whenever a model is set: an answer counts from its first words in the thread). Every
event is delivered twice, to different replicas; one replica is SIGKILLed every
``--kill-every`` seconds and restarted.
Then, each with ``--outage-questions`` questions: Postgres restarted, Redis restarted, and the
model answering 429, 500 or hanging for ``--outage-seconds``.

Prints answered, duplicates and lost; p50/p95 seconds from delivery to answer; for each kill,
the questions the killed replica held (its leases in the ledger) and the seconds until the last
of them was answered (the time to recover); and, for each outage, how many askers got a quoted
answer, an apology, a normal answer or nothing within 15 s.

Run from the repository root::

    .venv/bin/python bench/exactly_once_bench.py [--events 1000] [--rate 10] [--kill-every 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.cache import redis_client
from bot.service.embedded import EmbeddedRedis, start_postgres, stop_postgres
from knowledge.chunking import chunk_document
from knowledge.database import create_engine, ensure_database, migrate
from knowledge.embedders import HashingEmbedder
from knowledge.store import PgDocumentStore
from tests.documents import policy
from tests.fake_openai import HANG, FakeOpenAI, fake_openai, leave_answers
from tests.fake_slack import (
    BOT_ID,
    BOT_USER_ID,
    FakeSlack,
    bot_environment,
    event_body,
    fake_slack,
    mention,
    new_ts,
    signed_headers,
)
from tests.replica_processes import (
    Replica,
    post_event,
    replicas,
    start_replica,
    wait_healthy,
)

ANSWER_WITHIN = 15.0
QUESTION = "How many days of annual leave"


class Run:
    """Sends questions to the replicas that are up and watches the fake Slack's threads."""

    def __init__(
        self, group: list[Replica], slack: FakeSlack, ledger: redis.asyncio.Redis, namespace: str
    ) -> None:
        self.group, self.slack = group, slack
        self.ledger, self.namespace = ledger, namespace
        self.down: set[int] = set()
        self.sent: dict[str, float] = {}
        self.first_answer: dict[str, float] = {}
        self.ts_of: dict[str, str] = {}  # event id -> question ts
        self.rng = random.Random(19)
        self.count = 0

    async def ask(self) -> str:
        self.count += 1
        ts = new_ts()
        event = self.slack.remember(mention(f"<@{BOT_USER_ID}> {QUESTION} (#{self.count})?", ts=ts))
        body = event_body(event, event_id=f"EvB{self.count}")
        self.ts_of[f"EvB{self.count}"] = ts
        self.sent[ts] = time.monotonic()
        first = self.rng.randrange(3)
        await asyncio.gather(
            self._send(first, body, signed_headers(body)),
            self._send(first + 1, body, signed_headers(body, retry_num=1)),
        )
        return ts

    async def _send(self, first: int, body: bytes, headers: dict[str, str]) -> None:
        for attempt in range(60):
            target = (first + attempt) % 3
            if target not in self.down:
                try:
                    if await post_event(self.group[target].url, body, headers) < 300:
                        return
                except (TimeoutError, OSError, Exception):
                    pass
            await asyncio.sleep(0.25)

    def bot_messages(self) -> list[dict[str, Any]]:
        """The bot's messages, posted or streamed (a stream shows from its first words)."""
        history = self.slack.history.values()
        return [m for messages in history for m in messages if m.get("bot_id") == BOT_ID]

    def replies(self, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.bot_messages() if m.get("thread_ts") == ts]

    async def watch(self) -> None:
        while True:
            now = time.monotonic()
            for m in self.bot_messages():
                ts = m.get("thread_ts")
                if ts in self.sent and ts not in self.first_answer:
                    self.first_answer[ts] = now
            await asyncio.sleep(0.1)

    async def kill_and_restart(
        self, victim: int, env: dict[str, str], log: Path
    ) -> tuple[float, list[str]]:
        """Kill a replica and start another; returns when it was killed and the questions it
        held (accepted, unanswered) then."""
        self.down.add(victim)
        replica = self.group[victim]
        replica.process.kill()
        await replica.process.wait()
        killed_at = time.monotonic()
        held = await self.held_by(replica.pid)
        self.group[victim] = await start_replica(env, log)
        await wait_healthy(self.group[victim])
        self.down.discard(victim)
        return killed_at, held

    async def held_by(self, pid: int) -> list[str]:
        """The questions whose lease in the ledger is the process ``pid``'s: its leases
        outlive it by up to a lease."""
        prefix = f"{self.namespace}:questions:lease:slack:event:"
        owner = f"{socket.gethostname()}:{pid}:".encode()
        keys = [key async for key in self.ledger.scan_iter(match=prefix + "*", count=1000)]
        owners = await self.ledger.mget(keys) if keys else []
        return [
            self.ts_of[key.decode().removeprefix(prefix)]
            for key, value in zip(keys, owners, strict=True)
            if value is not None and value.startswith(owner)
        ]


async def steady(run: Run, args: argparse.Namespace, env: dict[str, str], logs: Path) -> None:
    start = time.monotonic()
    sends, kills = [], []
    victim = 0
    next_kill = start + args.kill_every
    for _ in range(args.events):
        sends.append(asyncio.create_task(run.ask()))
        if time.monotonic() >= next_kill:
            log = logs / f"replica-{victim}-{len(kills)}.log"
            kills.append(asyncio.create_task(run.kill_and_restart(victim, env, log)))
            victim, next_kill = (victim + 1) % 3, time.monotonic() + args.kill_every
        await asyncio.sleep(1 / args.rate)
    asked = await asyncio.gather(*sends)
    killed_at = await asyncio.gather(*kills)
    await _settle(run, asked, 120)
    durations = [run.first_answer[ts] - run.sent[ts] for ts in asked if ts in run.first_answer]
    counts = [len(run.replies(ts)) for ts in asked]
    print(f"{args.events} Slack events, each delivered twice; {len(kills)} kills "
          f"(every {args.kill_every:g} s), model {args.model_seconds:g} s")  # fmt: skip
    print(f"  answered {sum(c >= 1 for c in counts)}, duplicates {sum(c > 1 for c in counts)}, "
          f"lost {sum(c == 0 for c in counts)}")  # fmt: skip
    if durations:
        q = statistics.quantiles(durations, n=20)
        print(f"  time to answer: p50 {statistics.median(durations):.1f} s, p95 {q[18]:.1f} s")
    for n, (at, held) in enumerate(killed_at):
        answered = [run.first_answer[ts] - at for ts in held if ts in run.first_answer]
        recovered = max(answered, default=0.0)
        if not held:
            print(f"  kill {n + 1}: the replica held no question unanswered")
            continue
        shown = f"all answered {recovered:.1f} s" if len(answered) == len(held) else (
            f"{len(held) - len(answered)} never answered, the rest {recovered:.1f} s"
        )  # fmt: skip
        print(f"  kill {n + 1}: questions the replica held: {len(held)}; {shown} after the kill")


async def _settle(run: Run, asked: list[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not all(ts in run.first_answer for ts in asked):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(15)  # a duplicate from a late takeover would land


async def outage(run: Run, name: str, count: int, during: Callable[[], Awaitable[None]]) -> None:
    asks = []
    for n in range(count):
        asks.append(asyncio.create_task(run.ask()))
        if n == count // 4:
            asks.append(asyncio.create_task(_as_str(during())))
        await asyncio.sleep(0.3)
    asked = [ts for ts in await asyncio.gather(*asks) if ts]
    await _settle(run, asked, 90)
    kinds = {"quoted": 0, "apology": 0, "answer": 0, "nothing": 0, "late": 0}
    duplicates = 0
    for ts in asked:
        replies = run.replies(ts)
        duplicates += len(replies) > 1
        if not replies:
            kinds["nothing"] += 1
        elif run.first_answer[ts] - run.sent[ts] > ANSWER_WITHIN:
            kinds["late"] += 1
        elif "limited right now" in replies[0]["text"]:
            kinds["quoted"] += 1
        elif "Sorry" in replies[0]["text"]:
            kinds["apology"] += 1
        else:
            kinds["answer"] += 1
    shown = ", ".join(f"{k} {v}" for k, v in kinds.items())
    print(
        f"{name}: {len(asked)} askers within {ANSWER_WITHIN:g} s: {shown}; duplicates {duplicates}"
    )


async def _as_str(work: Awaitable[None]) -> str:
    await work
    return ""


def _model_outage(
    llm: FakeOpenAI, reply: int | str, seconds: float
) -> Callable[[], Awaitable[None]]:
    async def during() -> None:
        llm.default = lambda _body: reply  # type: ignore[assignment,return-value]
        if reply == HANG:
            llm.delay = seconds
        await asyncio.sleep(seconds)
        llm.default, llm.delay = leave_answers, 1.0

    return during


async def main(args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix="exactly-once-bench-"))
    database = await ensure_database(await start_postgres(home), "bench")
    engine = create_engine(database)
    await migrate(engine, embedding_dimension=384)
    document = policy(url="https://hb.test/leave")
    await PgDocumentStore(engine, HashingEmbedder(384)).upsert(document, chunk_document(document))
    await engine.dispose()
    redis = EmbeddedRedis(home / "redis")
    redis_url = await redis.start()
    async with fake_slack() as slack, fake_openai() as llm:
        llm.default, llm.delay = leave_answers, args.model_seconds
        env = bot_environment(
            slack,
            database_url=database,
            redis_url=redis_url,
            SUPPORTBOT_HOME=str(home),
            OPENAI_BASE_URL=llm.base_url,
            OPENAI_API_KEY="sk-bench",
            SUPPORTBOT_CHAT_MODEL="bench-model",
            SUPPORTBOT_EMBEDDING_DIMENSION="384",
        )
        ledger = redis_client(redis_url)
        async with replicas(env, 3, home) as group:
            run = Run(group, slack, ledger, env["SUPPORTBOT_REDIS_NAMESPACE"])
            watcher = asyncio.create_task(run.watch())
            await steady(run, args, env, home)

            async def restart_postgres() -> None:
                await stop_postgres(home)
                await asyncio.sleep(5)
                await start_postgres(home)

            async def restart_redis() -> None:
                redis.stop()
                await asyncio.sleep(5)
                await redis.start()

            n, seconds = args.outage_questions, args.outage_seconds
            await outage(run, "Postgres restarted (down 5 s)", n, restart_postgres)
            await outage(run, "Redis restarted (down 5 s)", n, restart_redis)
            await outage(run, f"model 429 for {seconds:g} s", n, _model_outage(llm, 429, seconds))
            await outage(run, f"model 500 for {seconds:g} s", n, _model_outage(llm, 500, seconds))
            await outage(run, f"model hanging {seconds:g} s", n, _model_outage(llm, HANG, seconds))
            watcher.cancel()
        await ledger.aclose()
    redis.stop()
    await stop_postgres(home)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="events per second")
    parser.add_argument("--kill-every", type=float, default=20.0)
    parser.add_argument("--model-seconds", type=float, default=1.0)
    parser.add_argument("--outage-questions", type=int, default=40)
    parser.add_argument("--outage-seconds", type=float, default=30.0)
    asyncio.run(main(parser.parse_args()))
