"""A Confluence space as a source, against a loopback Confluence Cloud REST API: first sync
through the paged listing, an edit (a new version), a deletion and an archived page, a
permission change mapped through the access file's groups, a failing page, a 429 and expired
credentials."""

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
from tests.fake_confluence import EMAIL, TOKEN, FakeConfluence, Page, fake_confluence

CREDENTIALS = {"confluence_email": EMAIL, "confluence_token": TOKEN}
GROUPS = {"hr-team": ("hr",)}


@pytest.fixture
async def confluence() -> AsyncIterator[FakeConfluence]:
    async with fake_confluence() as fake:
        fake.pages["101"] = Page("Leave policy", "<h2>Annual leave</h2><p>You get 27 days.</p>")
        fake.pages["102"] = Page("Travel policy", "<h2>Flights</h2><p>Book economy.</p>")
        fake.pages["103"] = Page(
            "Pay bands", "<h2>Bands</h2><p>Band 4 pays well.</p>", 1, ("hr-team",)
        )
        yield fake


def _manager(engine: AsyncEngine, store: PgDocumentStore, **credentials: str) -> SourceManager:
    records = PgSourceRecords(engine)
    context = ConnectorContext(credentials=credentials or CREDENTIALS, groups=GROUPS)
    return SourceManager(store, records, SourceSync(store, records), lambda _: context)


async def _add(manager: SourceManager, confluence: FakeConfluence) -> None:
    settings = {"site": confluence.base, "space": "HR"}
    await manager.add("confluence", "wiki", settings, ("public",), 3600)


async def _documents(store: PgDocumentStore) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {d.title: (d.url, d.scopes) for d in await store.list_documents()}


async def test_a_space_syncs_then_edits_deletions_and_permission_changes_follow(
    confluence: FakeConfluence,
    engine: AsyncEngine,
    store: PgDocumentStore,
    embedder: HashingEmbedder,
) -> None:
    manager = _manager(engine, store)
    await _add(manager, confluence)

    first = await manager.sync("wiki")
    assert (first.pages, first.added) == (3, 3)
    assert await _documents(store) == {
        "Leave policy": (f"{confluence.base}/wiki/spaces/HR/pages/101/Leave+policy", ("public",)),
        "Travel policy": (f"{confluence.base}/wiki/spaces/HR/pages/102/Travel+policy", ("public",)),
        "Pay bands": (f"{confluence.base}/wiki/spaces/HR/pages/103/Pay+bands", ("hr",)),
    }
    assert [r for r in confluence.requests if r[0] == "list"] == [("list", 200)] * 2  # paged

    calls = embedder.calls
    confluence.requests.clear()
    again = await manager.sync("wiki")
    assert (again.unchanged, again.added, again.updated) == (3, 0, 0)
    assert embedder.calls == calls
    assert [r for r in confluence.requests if r[0] != "list"] == [], "an unchanged page was read"

    confluence.pages["101"] = Page(
        "Leave policy", "<h2>Annual leave</h2><p>You get 30 days.</p>", 2
    )
    confluence.pages["102"].status = "archived"
    confluence.pages["103"].groups = ("finance-team",)  # nobody mapped: never public
    changed = await manager.sync("wiki")

    assert (changed.updated, changed.removed, changed.pages) == (2, 1, 2)
    documents = await _documents(store)
    assert set(documents) == {"Leave policy", "Pay bands"}
    assert documents["Pay bands"][1] == ("restricted",)


async def test_a_failing_page_and_a_429_do_not_stop_the_others(
    confluence: FakeConfluence, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store)
    await _add(manager, confluence)
    confluence.failing.add("102")
    confluence.garbled.add("103")
    confluence.throttle_listing = 1

    report = await manager.sync("wiki")

    assert report.added == 1
    assert report.failures == (
        f"page 102: {confluence.base} answered HTTP 500",
        "103: unexpected JSONDecodeError",
    )
    assert confluence.requests[:2] == [("list", 429), ("list", 200)]


async def test_expired_credentials_stop_the_source_and_remove_nothing(
    confluence: FakeConfluence, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store)
    await _add(manager, confluence)
    await manager.sync("wiki")
    confluence.token = "rotated"

    report = await manager.sync("wiki")

    assert report.error == (
        f"{confluence.base} refused the Confluence credentials (HTTP 401): check "
        "SUPPORTBOT_CONFLUENCE_EMAIL and SUPPORTBOT_CONFLUENCE_API_TOKEN"
    )
    assert TOKEN not in report.error
    assert len(await store.list_documents()) == 3
    [status] = await manager.statuses()
    assert status.last_error == report.error and status.pages == 3


async def test_missing_credentials_are_named(
    confluence: FakeConfluence, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store, none="")
    await _add(manager, confluence)

    report = await manager.sync("wiki")

    assert report.error == (
        "a confluence source needs SUPPORTBOT_CONFLUENCE_EMAIL and SUPPORTBOT_CONFLUENCE_API_TOKEN"
    )
    assert confluence.requests == []
