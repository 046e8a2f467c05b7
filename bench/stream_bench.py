"""Benchmark of streamed answers: how soon the asker sees the first text, and the whole answer.

The real server and Bolt app receive signed Slack DMs over HTTP, ``--concurrency`` at once,
``--rounds`` times; the bot streams each answer (``chat.startStream``/``appendStream``/
``stopStream``) to the loopback fake Slack from the tests. The model is the tests' fake OpenAI
server with a known token timing: its first token ``--first-token`` seconds after the request,
then ``--chunk-chars`` characters every ``--token-interval`` seconds. ``--slack-latency`` adds
that many seconds to each Web API call the bot makes, standing in for the round trip to Slack
(the fake answers at once). Embedded Postgres and Redis in a temporary home, the sample
handbook and the hashing embedder.

Printed, over all questions:

- first text after the model's first token: from the moment the model sends its first token
  to ``chat.startStream`` reaching Slack (the bot's own delay: retrieval is before the model
  call, so this is the gate, the event loop and the Slack call; target p95 ≤ 300 ms);
- question to first text, and question to final message (``chat.stopStream`` at Slack);
- where the time before the first text goes: question to the status line
  (``assistant.threads.setStatus`` at Slack) and question to the model's request.

Run from the repository root::

    .venv/bin/python bench/stream_bench.py [--concurrency 20] [--rounds 3] [--first-token 0.5]
        [--token-interval 0.03] [--chunk-chars 4] [--slack-latency 0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
from tests.fake_openai import FakeOpenAI, fake_openai
from tests.fake_slack import (
    SIGNING_SECRET,
    FakeSlack,
    event_body,
    fake_slack,
    message,
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
# The Web API methods the bot calls while answering a DM.
SLACK_METHODS = (
    "assistant.threads.setStatus", "chat.startStream", "chat.appendStream", "chat.stopStream",
    "chat.postMessage", "conversations.replies", "conversations.info", "auth.test",
)  # fmt: skip
# About 70 tokens' worth of answer, citing the first source.
REPLY = (
    "Here is what the handbook says about this. You should follow the steps in the policy, "
    "tell your manager as early as you can, and keep the receipts or records it asks for [1]. "
    "If anything is unclear, the People Team can help [1]."
)


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="stream-bench-", dir="/tmp") as home:
        async with fake_slack() as slack, fake_openai() as llm:
            llm.default = lambda _body: REPLY
            for method in SLACK_METHODS:
                slack.delay(method, args.slack_latency)
            llm.delay, llm.pause, llm.chunk_chars = (
                args.first_token, args.token_interval, args.chunk_chars
            )  # fmt: skip
            settings = Settings.from_env(
                {
                    "SUPPORTBOT_HOME": home,
                    "SUPPORTBOT_EMBEDDER": "hashing",
                    "SUPPORTBOT_ANSWER_MIN_SIMILARITY": "0.1",
                    "SLACK_BOT_TOKEN": slack.bot_token,
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": slack.api_url,
                    "OPENAI_BASE_URL": llm.base_url,
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
                    await run(args, url, session, slack, llm)


async def run(
    args: argparse.Namespace,
    url: str,
    session: aiohttp.ClientSession,
    slack: FakeSlack,
    llm: FakeOpenAI,
) -> None:
    after_token: list[float] = []
    first: list[float] = []
    final: list[float] = []
    status: list[float] = []
    to_model: list[float] = []
    whole = 0
    for round_ in range(args.rounds):
        sent: dict[str, float] = {}
        calls_before, requests_before = len(slack.calls), len(llm.requests)
        channels = [f"D{round_:02d}{i:04d}" for i in range(args.concurrency)]
        await asyncio.gather(*(ask(session, url, c, i, sent) for i, c in enumerate(channels)))
        await slack.wait_for(
            lambda after=calls_before: len(_done(slack, after)) >= args.concurrency, timeout=300
        )
        starts = _at(slack, "chat.startStream", calls_before)
        statuses = _at(slack, "assistant.threads.setStatus", calls_before, key="channel_id")
        stops = _at(slack, "chat.stopStream", calls_before)
        requests = zip(llm.requests[requests_before:], llm.arrivals[requests_before:], strict=True)
        prompts = [(body["messages"][-1]["content"], arrived) for body, arrived in requests]
        for channel, started in sent.items():
            if channel not in stops:  # not covered by the hashing embedder: posted whole
                whole += 1
                continue
            token = next(arrived for prompt, arrived in prompts if f"({channel})" in prompt)
            after_token.append((starts[channel] - token - args.first_token) * 1000)
            status.append((statuses[channel] - started) * 1000)
            to_model.append((token - started) * 1000)
            first.append((starts[channel] - started) * 1000)
            final.append((stops[channel] - started) * 1000)
    print(f"{len(first)} answers streamed ({whole} more posted whole), "
          f"{args.concurrency} questions at once; model: first token after "
          f"{args.first_token * 1000:.0f} ms, then {args.chunk_chars} characters every "
          f"{args.token_interval * 1000:.0f} ms; Slack round trip "
          f"{args.slack_latency * 1000:.0f} ms")  # fmt: skip
    for name, values in [
        ("first text after the model's first token", after_token),
        ("question to first text", first),
        ("question to final message", final),
        ("question to status line", status),
        ("question to model request", to_model),
    ]:
        print(f"{name}: p50 {percentile(values, 50):.0f} ms, p95 {percentile(values, 95):.0f} ms, "
              f"max {max(values):.0f} ms")  # fmt: skip


async def ask(
    session: aiohttp.ClientSession, url: str, channel: str, i: int, sent: dict[str, float]
) -> None:
    """One DM question, tagged with its channel (so no answer comes from the cache)."""
    body = event_body(message(f"{QUESTIONS[i % len(QUESTIONS)]} ({channel})", channel=channel))
    sent[channel] = time.perf_counter()
    async with session.post(
        f"{url}/slack/events", data=body, headers=signed_headers(body)
    ) as response:
        assert response.status == 200


def _calls(slack: FakeSlack, method: str, after: int) -> list[Any]:
    return [c for c in slack.calls[after:] if c.method == method and c.outcome == "ok"]


def _done(slack: FakeSlack, after: int) -> set[str]:
    """The channels whose answer has ended: a stream stopped or a message posted."""
    ended = _calls(slack, "chat.stopStream", after) + _calls(slack, "chat.postMessage", after)
    return {c.args["channel"] for c in ended}


def _at(slack: FakeSlack, method: str, after: int, key: str = "channel") -> dict[str, float]:
    """When each channel's first call of ``method`` reached Slack."""
    return {c.args[key]: c.at for c in reversed(_calls(slack, method, after))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--first-token", type=float, default=0.5)
    parser.add_argument("--token-interval", type=float, default=0.03)
    parser.add_argument("--chunk-chars", type=int, default=4)
    parser.add_argument("--slack-latency", type=float, default=0.0)
    asyncio.run(main(parser.parse_args()))
