"""Review reminders on a real Postgres, owners looked up at the loopback fake of Slack through
the real client: each owner once a week with all their overdue documents, unknown owners and
ownerless documents reported to admins once, one reminder however many replicas check."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.types import ReplyTo
from bot.loop.reviews import ReviewReminders, ReviewRound
from bot.platforms.people import People
from bot.platforms.slack.owners import SlackOwnerDirectory, slack_admin_destinations
from knowledge.chunking import chunk_document
from knowledge.store import PgDocumentStore
from tests.documents import policy
from tests.fake_slack import fake_slack
from tests.test_gaps import RecordingAskers

TODAY = date(2026, 12, 6)
ADMINS = ReplyTo("slack", {"channel": "CADMINS"})


@pytest.fixture
async def people() -> AsyncIterator[People]:
    async with fake_slack() as slack:
        slack.emails["ana@hb.test"] = "UANA"
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        found = People()
        found.register(
            SlackOwnerDirectory(client), slack_admin_destinations(("UADMIN",), "CADMINS")
        )
        yield found


async def _store(
    store: PgDocumentStore, name: str, owner: str | None, due: date, **more: str
) -> str:
    document = dataclasses.replace(
        policy(
            url=f"https://hb.test/{name}", title=f"{name.title()} [Policy](https://evil.example)"
        ),
        owner=owner,
        review_by=due,
        **more,
    )
    return (await store.upsert(document, chunk_document(document))).document_id


async def test_owners_are_reminded_weekly_and_unknown_ones_reported_once(
    store: PgDocumentStore, engine: AsyncEngine, people: People
) -> None:
    past, future = TODAY - timedelta(days=30), TODAY + timedelta(days=30)
    await _store(store, "leave", "ana@hb.test", past)
    await _store(store, "travel", "ana@hb.test", past - timedelta(days=1))
    await _store(store, "today", "ana@hb.test", TODAY)  # due today: not overdue yet
    await _store(store, "old", "ana@hb.test", past, status="retired")  # needs no review
    await _store(store, "future", "UBOB", future)
    await _store(store, "ghost", "ghost@hb.test", past)
    await _store(store, "nobody", None, past)
    nobody = (await store.find("https://hb.test/nobody")).id

    reporter = RecordingAskers()
    replicas = [ReviewReminders(store, engine, people, reporter) for _ in range(2)]
    rounds = await asyncio.gather(*(r.remind(TODAY) for r in replicas))
    assert sorted(rounds, key=lambda r: len(r.reminded)) == [
        ReviewRound(),
        ReviewRound(("ana@hb.test",), ("ghost@hb.test",), (nobody,)),
    ]
    to_ana, ghost, missing = (
        [
            t
            for w, t in reporter.private
            if w == ReplyTo("slack", {"user": "UANA", "private": True})
        ],
        [t for w, t in reporter.reports if w == ADMINS and "ghost" in t],
        [t for w, t in reporter.reports if w == ADMINS and "nobody owns" in t],
    )
    assert len(reporter.reports) == 2 and len(ghost) == 1 and len(missing) == 1
    assert len(reporter.private) == 1
    [reminder] = to_ana
    assert reminder.startswith("2 documents you own are overdue for review:")
    assert reminder.index("Travel") < reminder.index("Leave")  # the longest overdue first
    assert "Today" not in reminder and "Old" not in reminder and "Future" not in reminder
    assert r"\[Policy\](https://evil.example)" in reminder  # a title is never a link
    assert f"review was due {past - timedelta(days=1):%Y-%m-%d}" in reminder

    # The same day, or any day within the week: nothing new.
    assert await replicas[0].remind(TODAY + timedelta(days=1)) == ReviewRound()
    # A week on, the owner again; the unknown owner and the ownerless document not again.
    await _week_passes(engine)
    assert await replicas[1].remind(TODAY + timedelta(days=7)) == ReviewRound(("ana@hb.test",))
    assert (len(reporter.reports), len(reporter.private)) == (2, 2)


async def _week_passes(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE review_reminders SET reminded_at = reminded_at - interval '7 days'")
        )
