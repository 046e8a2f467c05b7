"""A file sent to the bot, with three ``supportbot serve`` processes on one Postgres and Redis:
delivered twice to different replicas (a Slack retry) and once more in a message that escaped
the event dedupe, it is stored once, queued once and ingested into one document."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.service.uploads import upload_key
from knowledge.store import PgDocumentStore
from tests.fake_slack import bot_environment, event_body, fake_slack, message, signed_headers
from tests.replica_processes import post_event, replicas

ADMIN = "UADMIN"
EXPENSES = (
    b"---\ntitle: Expenses Policy\nurl: https://hb.test/expenses\n---\n"
    b"# Expenses Policy\n\n## Meals\n\nMeals on business trips are refunded up to 40 euros.\n"
)


async def test_a_file_delivered_to_several_replicas_is_ingested_once(
    database_url: str, redis_url: str, engine: AsyncEngine, store: PgDocumentStore, tmp_path: Path
) -> None:
    async with fake_slack() as slack:
        env = bot_environment(
            slack,
            database_url=database_url,
            redis_url=redis_url,
            SUPPORTBOT_HOME=str(tmp_path),
            SLACK_ADMINS=ADMIN,
        )
        file = slack.host_file("expenses.md", EXPENSES, "text/markdown")
        async with replicas(env, 3, tmp_path) as group:
            body = event_body(
                message("", user=ADMIN, channel="DADMIN", files=[file]), event_id="EvFILE1"
            )
            statuses = await asyncio.gather(
                post_event(group[0].url, body, signed_headers(body)),
                post_event(group[1].url, body, signed_headers(body, retry_num=1)),
            )
            assert statuses == [200, 200]
            await slack.wait_for(lambda: _count(slack.posted("DADMIN"), "Added") == 1, timeout=60)
            again = event_body(
                message("", user=ADMIN, channel="DADMIN", files=[file]), event_id="EvFILE2"
            )
            assert await post_event(group[2].url, again, signed_headers(again)) == 200
            await slack.wait_for(
                lambda: _count(slack.posted("DADMIN"), "dealt with this copy") == 1, timeout=30
            )
            await asyncio.sleep(1.0)  # a second ingestion would report by now
    texts = [p["text"] for p in slack.posted("DADMIN")]
    assert _count(slack.posted("DADMIN"), "Received expenses.md") == 1, texts
    assert _count(slack.posted("DADMIN"), "Started adding") == 1, texts
    assert _count(slack.posted("DADMIN"), "Added") == 1, texts
    assert len(slack.downloads) == 2  # the first delivery and the later message; not the retry
    titles = [d.title for d in await store.list_documents()]
    assert titles.count("Expenses Policy") == 1
    async with engine.connect() as connection:
        jobs = (
            await connection.execute(
                text(
                    "SELECT status FROM procrastinate_jobs "
                    "WHERE task_name = 'supportbot.ingest_upload'"
                )
            )
        ).all()
        uploads = (
            await connection.execute(text("SELECT file_key, data IS NULL FROM uploads"))
        ).all()
    assert [str(status) for (status,) in jobs] == ["succeeded"]
    assert [tuple(row) for row in uploads] == [(upload_key("slack", file["id"], EXPENSES), True)]


def _count(posted: list[dict[str, object]], words: str) -> int:
    return sum(words in str(p["text"]) for p in posted)
