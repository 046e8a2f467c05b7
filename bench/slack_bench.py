"""Benchmark of the Slack adapter: how fast Slack gets its 200, and how fast answers land.

The real server and Bolt app receive signed ``app_mention`` events over HTTP, ``--concurrency``
at a time; the bot's Web API calls go to the loopback fake Slack from the tests. Embedded
Postgres and Redis in a temporary home, the sample handbook, the hashing embedder and the
offline writer (no LLM time), so the figures are the adapter's and the core's own cost:

- ack: the HTTP round trip of each event (Slack retries after 3 s without a 200);
- answer: from sending the event to the threaded answer being posted at the fake Slack (all
  events arrive in a burst, so this includes waiting behind the others: a queueing figure);
- peak resident memory of the process (server, client and fake together).

Run from the repository root::

    .venv/bin/python bench/slack_bench.py [--events 500] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.platforms.slack.app import build_slack_app
from bot.service.server import build_web_app
from bot.service.settings import Settings
from bot.service.wiring import build_embedder, open_core, open_engine
from knowledge.database import migrate
from knowledge.ingest import ingest
from knowledge.loading import LoadOptions
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from tests.fake_slack import (
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlack,
    event_body,
    fake_slack,
    mention,
    signed_headers,
)
from tests.loopback import serve

QUESTIONS = [
    "How many days of annual leave do I get?",
    "What do I do if I lose my laptop?",
    "How do I claim travel expenses?",
    "Can I work from home?",
    "Who approves parental leave?",
]


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="slack-bench-", dir="/tmp") as home:
        async with fake_slack() as slack:
            settings = Settings.from_env(
                {
                    "SUPPORTBOT_HOME": home,
                    "SUPPORTBOT_EMBEDDER": "hashing",
                    "SLACK_BOT_TOKEN": slack.bot_token,
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": slack.api_url,
                    "SUPPORTBOT_REDIS_NAMESPACE": uuid.uuid4().hex,
                }
            )
            async with open_engine(settings) as engine:
                await migrate(engine, embedding_dimension=build_embedder(settings).dimension)
            async with open_core(settings) as core:
                async for _ in ingest(
                    [str(SAMPLE_DOCS)], core.kb.store, load_options=LoadOptions(SAMPLE_BASE_URL)
                ):
                    pass
                app = build_web_app(
                    slack=build_slack_app(settings, core), slack_signing_secret=SIGNING_SECRET
                )
                async with serve(app) as url, aiohttp.ClientSession() as session:
                    await run(args, url, session, slack)


async def run(
    args: argparse.Namespace, url: str, session: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    sent: dict[str, float] = {}
    acks: list[float] = []
    gate = asyncio.Semaphore(args.concurrency)

    async def send(i: int) -> None:
        question = QUESTIONS[i % len(QUESTIONS)]
        event = mention(f"<@{BOT_USER_ID}> {question} ({i})")
        body = event_body(event)
        async with gate:
            started = time.perf_counter()
            sent[event["ts"]] = started
            async with session.post(
                f"{url}/slack/events", data=body, headers=signed_headers(body)
            ) as response:
                assert response.status == 200
            acks.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(send(i) for i in range(args.events)))
    answered: dict[str, float] = {}
    while len(answered) < args.events:
        for post in slack.posted():
            answered.setdefault(post["thread_ts"], time.perf_counter())
        await asyncio.sleep(0.005)
    wall = time.perf_counter() - started
    latencies = [(answered[ts] - sent[ts]) * 1000 for ts in sent]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.events} mentions, {args.concurrency} in flight: {wall:.1f} s, "
          f"{args.events / wall:.0f} answers/s")  # fmt: skip
    print(f"ack (HTTP 200 to Slack): p50 {percentile(acks, 50):.1f} ms, "
          f"p95 {percentile(acks, 95):.1f} ms, max {max(acks):.1f} ms (limit 3000 ms)")  # fmt: skip
    print(f"answer posted: p50 {percentile(latencies, 50):.0f} ms, "
          f"p95 {percentile(latencies, 95):.0f} ms")  # fmt: skip
    print(f"peak resident memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
