"""Several ``supportbot serve`` processes on one Postgres and one Redis, as behind a load
balancer: every delivery sent twice to different replicas is answered once, with Redis down
too (the posting is claimed in Postgres); an ingestion job
whose replica is killed is run again elsewhere and stores the document once; SIGTERM during an
answer delivers it before the process exits; in Socket Mode one replica holds the connection
and another takes over when it dies."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import aiohttp
import psutil
import redis.asyncio
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.platforms.slack.socket_lease import SOCKET_LOCK_KEY
from knowledge.chunking import chunk_document
from knowledge.store import PgDocumentStore
from tests.documents import policy
from tests.fake_openai import fake_openai, leave_answers
from tests.fake_slack import (
    BOT_USER_ID,
    FORM,
    FakeSlack,
    bot_environment,
    event_body,
    fake_slack,
    mention,
    signed_headers,
    slash_command_body,
)
from tests.fake_teams import FakeBotConnector, channel_mention, fake_connector
from tests.loopback import eventually, serve
from tests.outage import redis_outage
from tests.replica_processes import (
    Replica,
    post_activity,
    post_event,
    replica_environment,
    replicas,
)

ADMIN = "UADMIN"
QUESTION = "How many days of annual leave?"
HANDBOOK = (
    "<html><head><title>Travel Handbook</title></head><body><h1>Travel Handbook</h1>"
    "<h2>Trains</h2><p>Book second class for journeys under four hours.</p>"
    "<h2>Hotels</h2><p>Hotels are refunded up to 150 euros a night.</p></body></html>"
)


async def _seed_leave_policy(store: PgDocumentStore) -> None:
    document = policy(url="https://hb.test/leave")
    await store.upsert(document, chunk_document(document))


async def test_every_delivery_sent_twice_to_different_replicas_is_answered_once(
    database_url: str, redis_url: str, store: PgDocumentStore, tmp_path: Path
) -> None:
    await _seed_leave_policy(store)
    async with fake_slack() as slack, fake_connector() as teams:
        env = replica_environment(
            slack, database_url=database_url, redis_url=redis_url, home=tmp_path
        )
        async with replicas(env, 3, tmp_path) as group:
            activities = []
            for n in range(6):
                first, second = group[n % 3].url, group[(n + 1) % 3].url
                body = event_body(
                    mention(f"<@{BOT_USER_ID}> {QUESTION} ({n})"), event_id=f"EvTWICE{n}"
                )
                activity = channel_mention(f"{QUESTION} ({n})", service_url=teams.service_url)
                activities.append(activity)
                statuses = await asyncio.gather(
                    post_event(first, body, signed_headers(body)),
                    post_event(second, body, signed_headers(body, retry_num=1)),
                    post_activity(first, activity),
                    post_activity(second, activity),
                )
                assert statuses == [200, 200, 201, 201]
            await slack.wait_for(lambda: len(slack.posted()) >= 6, timeout=30)
            await teams.wait_for(lambda: len(teams.activities()) >= 6, timeout=30)
            await asyncio.sleep(1.0)  # a duplicate would arrive by now
    assert len(slack.posted()) == 6
    assert len({p["thread_ts"] for p in slack.posted()}) == 6
    assert all("25 days" in p["text"] for p in slack.posted())
    assert [len(teams.replies_to(a["id"])) for a in activities] == [2] * 6  # typing, answer
    assert len(teams.activities()) == 6


async def test_with_redis_down_every_delivery_sent_twice_is_still_answered_once(
    database_url: str, redis_url: str, store: PgDocumentStore, tmp_path: Path
) -> None:
    await _seed_leave_policy(store)
    async with (
        redis_outage(redis_url) as (cache, cached_url),
        fake_slack() as slack,
        fake_connector() as teams,
    ):
        env = replica_environment(
            slack, database_url=database_url, redis_url=cached_url, home=tmp_path
        )
        async with replicas(env, 2, tmp_path) as (first, second):
            await cache.cut()  # no dedupe claims: both replicas take each delivery
            activities = []
            for n in range(3):
                body = event_body(
                    mention(f"<@{BOT_USER_ID}> {QUESTION} ({n})"), event_id=f"EvDOWN{n}"
                )
                activity = channel_mention(f"{QUESTION} ({n})", service_url=teams.service_url)
                activities.append(activity)
                await asyncio.gather(
                    post_event(first.url, body, signed_headers(body)),
                    post_event(second.url, body, signed_headers(body, retry_num=1)),
                    post_activity(first.url, activity),
                    post_activity(second.url, activity),
                )
            await slack.wait_for(lambda: len(slack.posted()) >= 3, timeout=60)
            await teams.wait_for(lambda: len(teams.activities()) >= 3, timeout=60)
            await asyncio.sleep(2.0)  # the second replica's answer would arrive by now
            logs = first.output() + second.output()
    assert len(slack.posted()) == 3
    assert len({p["thread_ts"] for p in slack.posted()}) == 3
    assert len(teams.activities()) == 3
    assert "Redis unavailable" in logs


async def test_a_job_whose_replica_is_killed_runs_again_elsewhere_and_stores_the_document_once(
    database_url: str, redis_url: str, engine: AsyncEngine, store: PgDocumentStore, tmp_path: Path
) -> None:
    fetched_by: list[int] = []  # the client port of each request for the page
    first_fetch, release = asyncio.Event(), asyncio.Event()

    async def page(request: web.Request) -> web.Response:
        fetched_by.append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        if len(fetched_by) == 1:
            first_fetch.set()
            await release.wait()  # the replica fetching it is killed meanwhile
        return web.Response(text=HANDBOOK, content_type="text/html")

    site = web.Application()
    site.router.add_get("/travel", page)
    async with fake_slack() as slack, serve(site) as base:
        env = bot_environment(
            slack,
            database_url=database_url,
            redis_url=redis_url,
            SUPPORTBOT_HOME=str(tmp_path),
            SLACK_ADMINS=ADMIN,
            SUPPORTBOT_JOB_STALLED_SECONDS="3",
            SUPPORTBOT_FETCH_TIMEOUT="60",
        )
        async with replicas(env, 3, tmp_path) as group:
            key = uuid.uuid4().hex
            body = slash_command_body(
                f"add {base}/travel", user_id=ADMIN, response_url=slack.response_url(key)
            )
            assert (
                await post_event(group[0].url, body, signed_headers(body, content_type=FORM)) == 200
            )
            await asyncio.wait_for(first_fetch.wait(), timeout=30)
            victim = _replica_with_connection_from(fetched_by[0], group)
            victim.process.kill()
            await victim.process.wait()
            release.set()
            await slack.wait_for(lambda: _reported(slack, key, "Added"), timeout=60)
            await asyncio.sleep(4)  # past another stall timeout: a second run would show
    reports = [r["text"] for r in slack.responses_to(key)]
    # The command's reply and the worker's reports come from different replicas, so a worker
    # may report "Started" before the command's "Queued" reply lands: no order is promised.
    assert sum("Queued" in r for r in reports) == 1, reports
    assert sum("Started adding" in r for r in reports) == 2, reports
    assert "attempt 2" in next(r for r in reports if "Started adding" in r and "attempt" in r)
    assert sum("Added" in r for r in reports) == 1, reports
    assert not any("Already up to date" in r for r in reports), reports
    assert len(fetched_by) == 2
    stored = [d for d in await store.list_documents() if d.url == f"{base}/travel"]
    assert len(stored) == 1 and stored[0].title == "Travel Handbook"
    async with engine.connect() as connection:
        jobs = (
            await connection.execute(
                # The workers also queue the periodic sync of sources; only ingestion counts.
                text(
                    "SELECT status, attempts FROM procrastinate_jobs "
                    "WHERE task_name = 'supportbot.ingest'"
                )
            )
        ).all()
    # One job, run twice: the killed run and the one that finished.
    assert [(str(status), attempts) for status, attempts in jobs] == [("succeeded", 2)]


def _replica_with_connection_from(port: int, group: list[Replica]) -> Replica:
    for replica in group:
        connections = psutil.Process(replica.pid).net_connections(kind="tcp")
        if any(c.laddr and c.laddr.port == port for c in connections):
            return replica
    raise AssertionError(f"no replica has a connection from port {port}")


def _reported(slack: FakeSlack, key: str, words: str) -> bool:
    return any(words in r["text"] for r in slack.responses_to(key))


async def test_sigterm_during_an_answer_delivers_it_then_exits(
    database_url: str, redis_url: str, store: PgDocumentStore, tmp_path: Path
) -> None:
    await _seed_leave_policy(store)
    async with fake_slack() as slack, fake_openai() as llm:
        llm.default = leave_answers
        llm.delay = 3.0
        env = bot_environment(
            slack,
            database_url=database_url,
            redis_url=redis_url,
            SUPPORTBOT_HOME=str(tmp_path),
            OPENAI_BASE_URL=llm.base_url,
            OPENAI_API_KEY="sk-test",
            SUPPORTBOT_CHAT_MODEL="test-model",
        )
        async with replicas(env, 1, tmp_path) as [replica]:
            body = event_body(mention(f"<@{BOT_USER_ID}> {QUESTION}"), event_id="EvSIGTERM")
            assert await post_event(replica.url, body, signed_headers(body)) == 200
            await eventually(lambda: bool(llm.requests), timeout=30, what="the model was asked")
            replica.process.send_signal(signal.SIGTERM)
            await _eventually_not_ready(replica)
            late = event_body(mention(f"<@{BOT_USER_ID}> Another question"), event_id="EvLATE")
            assert await post_event(replica.url, late, signed_headers(late)) == 503
            code = await asyncio.wait_for(replica.process.wait(), timeout=30)
    assert code == 0, replica.output()
    [answer] = slack.answers()  # streamed: a model is configured
    assert "25 days" in answer["text"]


async def _eventually_not_ready(replica: Replica) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            async with session.get(f"{replica.url}/readyz") as response:
                if response.status == 503:
                    assert (await response.json())["checks"]["replica"] == "stopping"
                    return
            await asyncio.sleep(0.02)
    raise AssertionError("/readyz still says ready after SIGTERM")


async def test_one_replica_holds_socket_mode_and_another_takes_over_when_it_dies(
    database_url: str, redis_url: str, store: PgDocumentStore, tmp_path: Path
) -> None:
    await _seed_leave_policy(store)
    async with fake_slack() as slack:
        env = bot_environment(
            slack,
            database_url=database_url,
            redis_url=redis_url,
            SUPPORTBOT_HOME=str(tmp_path),
            SLACK_SIGNING_SECRET="",
            SLACK_APP_TOKEN=slack.app_token,
            SUPPORTBOT_SOCKET_LOCK_SECONDS="3",
        )
        client = redis.asyncio.Redis.from_url(redis_url)
        lock_key = f"{env['SUPPORTBOT_REDIS_NAMESPACE']}:{SOCKET_LOCK_KEY}"
        try:
            async with replicas(env, 3, tmp_path) as group:
                await slack.wait_for_socket(1, timeout=20)
                await asyncio.sleep(2.5)  # standbys try every second; none may connect
                assert slack.socket_connections == 1
                holder = await _lock_holder(client, lock_key, group)
                await _ask_over_socket(slack, "EvSOCKET1", answers_before=0)

                holder.process.kill()
                await holder.process.wait()
                await slack.wait_for(lambda: slack.socket_connections == 1, timeout=20)
                successor = await _lock_holder(client, lock_key, group)
                assert successor.pid != holder.pid
                await asyncio.sleep(2.5)
                assert slack.socket_connections == 1
                await _ask_over_socket(slack, "EvSOCKET2", answers_before=1)
        finally:
            await client.aclose()
    assert len(slack.posted()) == 2


async def _lock_holder(client: redis.asyncio.Redis, key: str, group: list[Replica]) -> Replica:
    value = await client.get(key)
    assert value is not None, "nobody holds the Socket Mode lock"
    pid = int(value.decode().split(":")[1])
    return next(r for r in group if r.pid == pid)


async def _ask_over_socket(slack: FakeSlack, event_id: str, *, answers_before: int) -> None:
    await slack.socket_event(mention(f"<@{BOT_USER_ID}> {QUESTION}"), event_id=event_id)
    await slack.wait_for(lambda: len(slack.posted()) > answers_before, timeout=20)
    assert "25 days" in slack.posted()[-1]["text"]


async def test_questions_whose_replica_is_killed_mid_answer_are_answered_by_another_once(
    database_url: str, redis_url: str, store: PgDocumentStore, tmp_path: Path
) -> None:
    await _seed_leave_policy(store)
    async with fake_slack() as slack, fake_connector() as teams, fake_openai() as llm:
        llm.default = leave_answers
        llm.delay = 8.0  # both questions are waiting for the model when their replica dies
        env = replica_environment(
            slack,
            database_url=database_url,
            redis_url=redis_url,
            home=tmp_path,
            llm=llm,
            SUPPORTBOT_QUESTION_LEASE_SECONDS="2",
        )
        async with replicas(env, 2, tmp_path) as [doomed, survivor]:
            question = slack.remember(mention(f"<@{BOT_USER_ID}> {QUESTION}"))
            body = event_body(question, event_id="EvKILLED")
            activity = channel_mention(QUESTION, service_url=teams.service_url)
            assert await post_event(doomed.url, body, signed_headers(body)) == 200
            # The turn waits for the answer; it ends when the replica dies.
            turn = asyncio.create_task(post_activity(doomed.url, activity))
            await eventually(lambda: len(llm.requests) >= 2, timeout=30, what="both asked")
            doomed.process.kill()
            await doomed.process.wait()
            assert isinstance((await asyncio.gather(turn, return_exceptions=True))[0], Exception)
            # The retries reach the survivor, which must not answer them a second time.
            retry = signed_headers(body, retry_num=1)
            assert await post_event(survivor.url, body, retry) == 200
            assert await post_activity(survivor.url, activity) in (200, 201)
            await slack.wait_for(lambda: len(slack.answers()) >= 1, timeout=60)
            await teams.wait_for(lambda: _teams_answers(teams, activity) >= 1, timeout=60)
            await asyncio.sleep(5)  # past two more leases: a second answer would show
    survivor_log = survivor.output()  # complete once the process has exited
    assert [m["thread_ts"] for m in slack.answers()] == [question["ts"]]
    assert "25 days" in slack.answers()[0]["text"]
    assert not any(m.get("streaming") for ms in slack.history.values() for m in ms)
    assert _teams_answers(teams, activity) == 1
    assert survivor_log.count("taking over question") == 2, survivor_log


def _teams_answers(teams: FakeBotConnector, activity: dict[str, object]) -> int:
    return sum(1 for a in teams.replies_to(str(activity["id"])) if a.get("type") == "message")
