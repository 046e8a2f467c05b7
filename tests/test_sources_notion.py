"""A Notion database as a source, against a loopback Notion API: first sync through paged
queries and block lists (nested blocks, headings anchored as Notion links to them), an edit, an
archived page, a failing page, a 429 and a revoked token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.embedders import HashingEmbedder
from knowledge.sources.connector import ConnectorContext
from knowledge.sources.manager import SourceManager
from knowledge.sources.records import PgSourceRecords
from knowledge.sources.sync import SourceSync
from knowledge.store import PgDocumentStore
from tests.fake_notion import DATABASE, TOKEN, FakeNotion, NotionPage, fake_notion, text

LEAVE = "11111111-1111-1111-1111-111111111111"
TRAVEL = "22222222-2222-2222-2222-222222222222"
HEADING = "aaaaaaaa-0000-0000-0000-000000000001"


def _leave(days: int) -> NotionPage:
    return NotionPage(
        "Leave policy",
        [
            text("heading_1", "Annual leave", HEADING),
            text("paragraph", f"You get {days} days of annual leave.", "b2"),
            text(
                "bulleted_list_item", "Carry over", "b3", [text("paragraph", "Up to 5 days.", "b4")]
            ),
        ],
    )


@pytest.fixture
async def notion() -> AsyncIterator[FakeNotion]:
    async with fake_notion() as fake:
        fake.pages[LEAVE] = _leave(27)
        fake.pages[TRAVEL] = NotionPage(
            "Travel", [text("paragraph", "Book economy flights.", "c1")]
        )
        yield fake


def _manager(engine: AsyncEngine, store: PgDocumentStore, token: str = TOKEN) -> SourceManager:
    records = PgSourceRecords(engine)
    context = ConnectorContext(credentials={"notion_token": token} if token else {})
    return SourceManager(store, records, SourceSync(store, records), lambda _: context)


async def _add(manager: SourceManager, notion: FakeNotion) -> None:
    settings = {"database": DATABASE, "api": notion.base}
    await manager.add("notion", "handbook", settings, ("staff",), 3600)


async def _chunks(engine: AsyncEngine) -> list[tuple[str, str]]:
    from sqlalchemy import text as sql

    async with engine.connect() as connection:
        rows = await connection.execute(sql("SELECT url, text FROM chunks ORDER BY url"))
        return [(row.url, row.text) for row in rows]


async def test_a_database_syncs_then_an_edit_and_an_archived_page_follow(
    notion: FakeNotion, engine: AsyncEngine, store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    manager = _manager(engine, store)
    await _add(manager, notion)

    first = await manager.sync("handbook")

    assert (first.pages, first.added) == (2, 2)
    documents = {d.title: d for d in await store.list_documents()}
    assert set(documents) == {"Leave policy", "Travel"}
    assert documents["Leave policy"].scopes == ("staff",)
    leave_url = "https://www.notion.so/Leave-policy-" + LEAVE.replace("-", "")
    chunks = await _chunks(engine)
    anchored = [t for u, t in chunks if u == f"{leave_url}#{HEADING.replace('-', '')}"]
    assert anchored and "27 days" in anchored[0] and "Up to 5 days." in anchored[0]

    calls = embedder.calls
    notion.requests.clear()
    again = await manager.sync("handbook")
    assert again.unchanged == 2 and embedder.calls == calls
    assert {name for name, _ in notion.requests} == {"query"}, "an unchanged page was read"

    notion.pages[LEAVE] = _leave(30)
    notion.pages[LEAVE].edited = "2026-12-06T09:00:00.000Z"
    notion.pages[TRAVEL].archived = True
    changed = await manager.sync("handbook")

    assert (changed.updated, changed.removed, changed.pages) == (1, 1, 1)
    assert [d.title for d in await store.list_documents()] == ["Leave policy"]
    assert any("30 days" in t for _, t in await _chunks(engine))


async def test_a_failing_page_and_a_429_do_not_stop_the_others(
    notion: FakeNotion, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store)
    await _add(manager, notion)
    notion.failing.add(TRAVEL)
    notion.throttled[LEAVE] = 1

    report = await manager.sync("handbook")

    assert report.added == 1
    assert report.failures == (f"page {TRAVEL}: the Notion API answered HTTP 500",)
    assert [s for name, s in notion.requests if name == LEAVE][:2] == [429, 200]


async def test_a_revoked_token_stops_the_source_and_removes_nothing(
    notion: FakeNotion, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store)
    await _add(manager, notion)
    await manager.sync("handbook")
    notion.token = "revoked"

    report = await manager.sync("handbook")

    assert report.error == (
        "Notion refused the integration token (HTTP 401): check SUPPORTBOT_NOTION_TOKEN"
    )
    assert len(await store.list_documents()) == 2


async def test_no_token_is_named(
    notion: FakeNotion, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store, token="")
    await _add(manager, notion)

    report = await manager.sync("handbook")

    assert report.error == "a notion source needs SUPPORTBOT_NOTION_TOKEN"
    assert notion.requests == []
