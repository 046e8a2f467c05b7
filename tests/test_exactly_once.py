"""The proof of issue 19 at CI size: three ``supportbot serve`` replicas on one Postgres and
one Redis; Slack events and Teams activities each delivered twice to different replicas, some
Slack events a third time as Slack's late retry; one replica SIGKILLed mid-run and restarted,
twice. Every question gets exactly one threaded answer at the fakes: none lost, none twice.

``bench/exactly_once_bench.py`` runs the same at 1,000 events and prints the timings."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from knowledge.chunking import chunk_document
from knowledge.store import PgDocumentStore
from tests.documents import policy
from tests.fake_openai import FakeOpenAI, fake_openai, leave_answers
from tests.fake_slack import (
    BOT_ID,
    BOT_USER_ID,
    FakeSlack,
    event_body,
    fake_slack,
    mention,
    new_ts,
    signed_headers,
)
from tests.fake_teams import FakeBotConnector, channel_mention, fake_connector
from tests.replica_processes import (
    Replica,
    post_activity,
    post_event,
    replica_environment,
    replicas,
    start_replica,
    wait_healthy,
)

SLACK_EVENTS = 300
TEAMS_ACTIVITIES = 100
LEASE_SECONDS = 5
# Seconds between questions: what two shared cores answer without timing out their pools.
PACE_SECONDS = 0.15
QUESTION = "How many days of annual leave"
# Posting to a replica that is down fails; Slack and Teams deliver again, elsewhere.
DOWN = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class Delivery:
    """Sends each request to a replica that is up, as the platforms' retries end up doing."""

    def __init__(self, group: list[Replica], slack: FakeSlack) -> None:
        self.group = group
        self.slack = slack
        self.down: set[int] = set()

    async def send(self, first: int, post: Callable[[str], Awaitable[int]]) -> None:
        for attempt in range(30):
            target = (first + attempt) % len(self.group)
            if target in self.down:
                await asyncio.sleep(0.1)
                continue
            try:
                if await post(self.group[target].url) < 300:
                    return
            except DOWN:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError("no replica took a delivery in 30 attempts")


async def _deliver_slack(delivery: Delivery, n: int, rng: random.Random) -> str:
    ts = new_ts()
    event = delivery.slack.remember(mention(f"<@{BOT_USER_ID}> {QUESTION} (s{n})?", ts=ts))
    body = event_body(event, event_id=f"EvP{n}")
    first = rng.randrange(3)
    copies = [delivery.send(first, lambda url: post_event(url, body, signed_headers(body)))]
    retry = signed_headers(body, retry_num=1)
    copies.append(delivery.send(first + 1, lambda url: post_event(url, body, retry)))
    if n % 4 == 0:  # Slack's second retry, later, to the third replica

        async def late() -> None:
            await asyncio.sleep(1.0)
            headers = signed_headers(body, retry_num=2)
            await delivery.send(first + 2, lambda url: post_event(url, body, headers))

        copies.append(late())
    await asyncio.gather(*copies)
    return ts


async def _deliver_teams(delivery: Delivery, n: int, rng: random.Random, service_url: str) -> str:
    activity = channel_mention(f"{QUESTION} (t{n})?", service_url=service_url)
    first = rng.randrange(3)
    await asyncio.gather(
        delivery.send(first, lambda url: post_activity(url, activity)),
        delivery.send(first + 1, lambda url: post_activity(url, activity)),
    )
    return str(activity["id"])


async def _kill_and_restart(
    delivery: Delivery, victim: int, env: dict[str, str], log: Path
) -> None:
    replica = delivery.group[victim]
    delivery.down.add(victim)
    replica.process.kill()
    await replica.process.wait()
    restarted = await start_replica(env, log)
    delivery.group[victim] = restarted
    await wait_healthy(restarted)
    delivery.down.discard(victim)


def slack_replies(slack: FakeSlack, ts: str) -> int:
    """The bot's messages in the question's thread, posted or streamed; a stream cut off by a
    kill and left behind counts as an answer too (it must not stand beside a second one)."""
    return sum(
        1
        for messages in slack.history.values()
        for m in messages
        if m.get("bot_id") == BOT_ID and m.get("thread_ts") == ts
    )


def teams_replies(teams: FakeBotConnector, activity_id: str) -> int:
    return sum(1 for a in teams.replies_to(activity_id) if a.get("type") == "message")


async def test_every_question_is_answered_exactly_once_while_a_replica_is_killed_twice(
    database_url: str, redis_url: str, store: PgDocumentStore, tmp_path: Path
) -> None:
    document = policy(url="https://hb.test/leave")
    await store.upsert(document, chunk_document(document))
    rng = random.Random(19)
    async with fake_slack() as slack, fake_connector() as teams, fake_openai() as llm:
        _slow_model(llm)
        env = replica_environment(
            slack,
            database_url=database_url,
            redis_url=redis_url,
            home=tmp_path,
            llm=llm,
            SUPPORTBOT_QUESTION_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        async with replicas(env, 3, tmp_path) as group:
            delivery = Delivery(group, slack)
            total = SLACK_EVENTS + TEAMS_ACTIVITIES
            kills = {total // 3: "a", 2 * total // 3: "b"}
            sends: list[asyncio.Task[str]] = []
            slack_sends: list[asyncio.Task[str]] = []
            restarting: asyncio.Task[None] | None = None
            for n in range(total):
                if n in kills:
                    if restarting is not None:
                        await restarting
                    log = tmp_path / f"replica-0{kills[n]}.log"
                    restarting = asyncio.create_task(_kill_and_restart(delivery, 0, env, log))
                if n % 4 == 3:  # one in four is a Teams activity
                    sends.append(
                        asyncio.create_task(_deliver_teams(delivery, n, rng, teams.service_url))
                    )
                else:
                    task = asyncio.create_task(_deliver_slack(delivery, n, rng))
                    sends.append(task)
                    slack_sends.append(task)
                await asyncio.sleep(PACE_SECONDS)
            await asyncio.gather(*sends)
            assert restarting is not None
            await restarting
            slack_ts = [t.result() for t in slack_sends]
            teams_ids = [t.result() for t in sends if t not in slack_sends]

            def all_answered() -> bool:
                return all(slack_replies(slack, ts) for ts in slack_ts) and all(
                    teams_replies(teams, a) for a in teams_ids
                )

            await _until(all_answered, timeout=300)
            await asyncio.sleep(3 * LEASE_SECONDS + 2)  # a late takeover's answer would land
    logs = _logs(tmp_path)
    slack_counts = {ts: slack_replies(slack, ts) for ts in slack_ts}
    teams_counts = {a: teams_replies(teams, a) for a in teams_ids}
    assert len(slack_counts) + len(teams_counts) == total
    wrong = {q: n for q, n in {**slack_counts, **teams_counts}.items() if n != 1}
    assert wrong == {}, "every question answered exactly once (question: answers)"
    half = [m["thread_ts"] for ms in slack.history.values() for m in ms if m.get("streaming")]
    assert half == [], "no answer is left cut off mid-stream"
    # The kills hit questions in flight, and another replica answered them.
    assert "taking over question" in logs


def _slow_model(llm: FakeOpenAI) -> None:
    llm.default = leave_answers
    llm.delay = 3.0  # a few questions wait on the model in each replica when it is killed


async def _until(predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
    """Poll until ``predicate`` holds or ``timeout`` passes; the caller checks what holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.5)


def _logs(directory: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in directory.glob("replica-*.log"))
