"""Benchmark of the Teams adapter: how long Teams waits for each turn, and how fast answers land.

The real server and botbuilder's ``CloudAdapter`` receive activities shaped like Teams' at
``/api/messages``, ``--concurrency`` at a time: personal messages and channel @mentions in
turn, each from its own 1:1 chat or new channel post, so none is a follow-up. Most repeat one
of five questions (cache hits once answered); every tenth is a distinct question. The bot
replies to the loopback fake Bot Connector from the tests. Embedded Postgres and Redis in a
temporary home, the sample handbook, the hashing embedder (with the tests' answer threshold of
0.1, so that its answers are grounded and cached) and the offline writer (no LLM time), so the
figures are the adapter's and the core's own cost:

- turn: the HTTP round trip of each activity, until ``/api/messages`` answers 201. The turn
  waits up to ``--reply-within`` seconds (``TEAMS_REPLY_WITHIN_SECONDS``) for the answer and
  sends it in the turn, so when the answer is that quick it is included (Teams retries an
  activity after about 15 s); a slower answer is sent proactively after the turn;
- answer delivered: from sending the activity to its answer arriving at the fake Bot
  Connector, in the turn or after it (all activities arrive in a burst, so this includes
  waiting behind the others: a queueing figure);
- how many answers arrived in the turn and how many after it (proactively), duplicates (must be
  0), the answers' outcomes from the answer log, and peak resident memory of the process
  (server, client and fake together).

Run from the repository root::

    .venv/bin/python bench/teams_bench.py [--activities 500] [--concurrency 50] [--reply-within 10]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.answer_log import PgAnswerLog, Prices
from bot.platforms.teams.app import build_teams_endpoint
from bot.service.embedded import stop_postgres
from bot.service.server import build_web_app
from bot.service.settings import Settings
from bot.service.wiring import build_embedder, open_core, open_engine
from knowledge.database import migrate
from knowledge.ingest import ingest
from knowledge.loading import LoadOptions
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from tests.fake_teams import (
    FakeBotConnector,
    TeamsUser,
    channel_mention,
    fake_connector,
    personal_message,
)
from tests.loopback import serve

QUESTIONS = [
    "How many days of annual leave do I get?",
    "What do I do if I lose my laptop?",
    "How do I claim travel expenses?",
    "Can I work from home?",
    "Who approves parental leave?",
]
DISTINCT_EVERY = 10
# Give up when no answer has arrived for this long (something is broken, not slow).
STALL_SECONDS = 60.0


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def employee(n: int) -> TeamsUser:
    """The n-th employee of the tenant (each has their own 1:1 chat with the bot)."""
    return TeamsUser(
        id=f"29:bench-employee-{n:06d}",
        name=f"Employee {n}",
        aad_object_id=str(uuid.UUID(int=n + 1)),
        email=f"employee{n}@contoso.example",
        given_name="Employee",
        surname=str(n),
    )


def activity(i: int, service_url: str) -> dict[str, Any]:
    """The i-th activity: a personal message or a channel mention, alternately."""
    question = QUESTIONS[i % len(QUESTIONS)]
    if i % DISTINCT_EVERY == DISTINCT_EVERY - 1:
        question = f"{question} ({i})"
    if i % 2 == 0:
        return personal_message(question, user=employee(i), service_url=service_url)
    return channel_mention(question, user=employee(i), service_url=service_url)


class Deliveries:
    """The answers the bot posted at the fake Bot Connector, by the activity they reply to.

    Both the in-turn and the proactive answer are replies to the question's activity
    (``POST .../activities/{its id}``); typing indicators are left out.
    """

    def __init__(self, connector: FakeBotConnector) -> None:
        self._connector = connector
        self._scanned = 0
        self._unanswered: list[int] = []  # calls the fake had not answered yet when last seen
        self.first: dict[str, float] = {}
        self.count: Counter[str] = Counter()

    def collect(self) -> None:
        calls = self._connector.calls
        fresh = range(self._scanned, len(calls))
        self._scanned = len(calls)
        unanswered = []
        now = time.perf_counter()
        for index in [*self._unanswered, *fresh]:
            call = calls[index]
            if not call.status:
                unanswered.append(index)
            elif call.kind == "reply" and call.status == 200 and _is_message(call.body):
                assert call.activity_id is not None
                self.first.setdefault(call.activity_id, now)
                self.count[call.activity_id] += 1
        self._unanswered = unanswered


def _is_message(body: Any) -> bool:
    return isinstance(body, dict) and body.get("type") == "message"


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="teams-bench-", dir="/tmp") as home:
        try:
            await bench(args, home)
        finally:
            await stop_postgres(Path(home))  # before its folder goes: it would outlive it


async def bench(args: argparse.Namespace, home: str) -> None:
    async with fake_connector() as connector:
        settings = Settings.from_env(
            {
                "SUPPORTBOT_HOME": home,
                "SUPPORTBOT_EMBEDDER": "hashing",
                "SUPPORTBOT_REDIS_NAMESPACE": uuid.uuid4().hex,
                # As in the tests: the hashing embedder's similarities are low.
                "SUPPORTBOT_ANSWER_MIN_SIMILARITY": "0.1",
                "TEAMS_REPLY_WITHIN_SECONDS": str(args.reply_within),
                # The fake connector's activities carry no token.
                "TEAMS_ALLOW_UNAUTHENTICATED": "1",
            }
        )
        async with open_engine(settings) as engine:
            await migrate(engine, embedding_dimension=build_embedder(settings).dimension)
        async with open_core(settings) as core:
            async for _ in ingest(
                [str(SAMPLE_DOCS)], core.kb.store, load_options=LoadOptions(SAMPLE_BASE_URL)
            ):
                pass
            endpoint = build_teams_endpoint(settings, core)
            since = dt.datetime.now(dt.UTC)
            async with serve(build_web_app(teams=endpoint)) as url:
                async with aiohttp.ClientSession() as session:
                    await run(args, url, session, connector)
                await endpoint.bot.drain()
            totals = await PgAnswerLog(core.kb.engine, Prices()).totals(since)
            print(f"answers logged: {totals.answers}: {totals.grounded} grounded "
                  f"({totals.cached} from the cache), {totals.not_covered} not covered, "
                  f"{totals.unavailable} unavailable")  # fmt: skip
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"peak resident memory: {peak_mb:.0f} MB")


async def run(
    args: argparse.Namespace, url: str, session: aiohttp.ClientSession, connector: FakeBotConnector
) -> None:
    sent: dict[str, float] = {}
    turns: list[float] = []
    in_turn: set[str] = set()
    deliveries = Deliveries(connector)
    gate = asyncio.Semaphore(args.concurrency)

    async def send(i: int) -> None:
        body = activity(i, connector.service_url)
        async with gate:
            started = time.perf_counter()
            sent[body["id"]] = started
            async with session.post(f"{url}/api/messages", json=body) as response:
                assert response.status == 201, response.status
            turns.append((time.perf_counter() - started) * 1000)
            # An answer sent in the turn reached the connector before the turn ended.
            deliveries.collect()
            if body["id"] in deliveries.first:
                in_turn.add(body["id"])

    async def watch() -> None:
        """Note each answer's arrival (every 5 ms) until all have arrived."""
        arrived, last_arrival = 0, time.perf_counter()
        while len(deliveries.first) < args.activities:
            deliveries.collect()
            if len(deliveries.first) > arrived:
                arrived, last_arrival = len(deliveries.first), time.perf_counter()
            elif time.perf_counter() - last_arrival > STALL_SECONDS:
                raise TimeoutError(f"only {arrived} of {args.activities} answers arrived")
            await asyncio.sleep(0.005)

    started = time.perf_counter()
    await asyncio.gather(watch(), *(send(i) for i in range(args.activities)))
    wall = time.perf_counter() - started
    await asyncio.sleep(0.5)  # a duplicate would come after the first answer
    deliveries.collect()
    latencies = [(deliveries.first[i] - sent[i]) * 1000 for i in sent]
    duplicates = sum(n - 1 for n in deliveries.count.values())
    print(f"{args.activities} activities (personal messages and channel mentions), "
          f"{args.concurrency} in flight, reply within {args.reply_within:g} s: {wall:.1f} s, "
          f"{args.activities / wall:.0f} answers/s")  # fmt: skip
    print(f"turn (HTTP 201 to Teams): p50 {percentile(turns, 50):.0f} ms, "
          f"p95 {percentile(turns, 95):.0f} ms, max {max(turns):.0f} ms (Teams retries after "
          f"about 15000 ms)")  # fmt: skip
    print(f"answer delivered: p50 {percentile(latencies, 50):.0f} ms, "
          f"p95 {percentile(latencies, 95):.0f} ms; {len(in_turn)} in the turn, "
          f"{args.activities - len(in_turn)} proactively; {duplicates} duplicates")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--reply-within",
        type=float,
        default=10.0,
        help="TEAMS_REPLY_WITHIN_SECONDS: how long a turn waits for its answer (0: never)",
    )
    asyncio.run(main(parser.parse_args()))
