"""A SharePoint library (a Graph drive) as a source, against a loopback Microsoft Graph: a
first sync through the paged delta feed within a folder, then only the changes (an edit, a
deletion, a file moved out of the folder), a failing file, a 429, an expired delta link and a
revoked client secret."""

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
from tests.fake_graph import CLIENT_ID, DRIVE, SECRET, TENANT, FakeGraph, fake_graph

CREDENTIALS = {"graph_tenant": TENANT, "graph_client_id": CLIENT_ID, "graph_client_secret": SECRET}


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with fake_graph() as fake:
        fake.change("1", name="leave.md", folder="Policies", content="# Leave\n\nYou get 27 days.")
        fake.change("2", name="travel.md", folder="Policies/Travel", content="# Travel\n\nEconomy.")
        fake.change("3", name="minutes.md", folder="Meetings", content="# Minutes\n\nNothing.")
        fake.change("4", name="logo.png", folder="Policies", content="not a document")
        yield fake


async def _scopes(store: PgDocumentStore) -> dict[str, tuple[str, ...]]:
    return {d.title: d.scopes for d in await store.list_documents()}


def _manager(engine: AsyncEngine, store: PgDocumentStore) -> SourceManager:
    records = PgSourceRecords(engine)
    context = ConnectorContext(credentials=CREDENTIALS, groups={"g-fin": ("finance",)})
    return SourceManager(store, records, SourceSync(store, records), lambda _: context)


async def _add(manager: SourceManager, graph: FakeGraph) -> None:
    settings = {
        "drive": DRIVE,
        "folder": "Policies",
        "graph": f"{graph.base}/v1.0",
        "login": graph.base,
    }
    await manager.add("sharepoint", "hr", settings, ("hr",), 3600)


async def test_a_library_syncs_then_follows_its_delta_feed(
    graph: FakeGraph, engine: AsyncEngine, store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    manager = _manager(engine, store)
    await _add(manager, graph)

    first = await manager.sync("hr")
    assert (first.pages, first.added) == (2, 2)
    documents = {d.title: d for d in await store.list_documents()}
    assert set(documents) == {"Leave", "Travel"}
    assert documents["Leave"].url == (
        "https://contoso.sharepoint.com/sites/hr/Shared%20Documents/Policies/leave.md"
    )
    assert documents["Leave"].scopes == ("hr",)

    calls = embedder.calls
    graph.requests.clear()
    quiet = await manager.sync("hr")
    assert (quiet.pages, quiet.added, quiet.updated, quiet.removed) == (2, 0, 0, 0)
    assert embedder.calls == calls
    assert [name for name, _ in graph.requests] == ["token", "delta"], "a quiet library was read"

    graph.change("1", content="# Leave\n\nYou get 30 days.")
    graph.change("2", deleted=True)
    graph.change("5", name="pay.md", folder="Policies", content="# Pay\n\nThe 25th.")
    changed = await manager.sync("hr")
    assert (changed.pages, changed.added, changed.updated, changed.removed) == (2, 1, 1, 1)

    graph.change("5", folder="Archive")  # moved out of the folder
    moved = await manager.sync("hr")
    assert (moved.pages, moved.removed) == (1, 1)
    assert [d.title for d in await store.list_documents()] == ["Leave"]


async def test_a_failing_file_is_read_again_and_a_429_waited_out(
    graph: FakeGraph, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store)
    await _add(manager, graph)
    graph.failing.add("2")
    graph.throttled["1"] = 1

    report = await manager.sync("hr")
    assert report.added == 1
    assert report.failures == ("travel.md: the download answered HTTP 500",)
    assert [s for n, s in graph.requests if n == "download:1"] == [429, 200]

    graph.failing.clear()
    retried = await manager.sync("hr")  # the feed is read again from where it was
    assert (retried.added, retried.unchanged, retried.failed) == (1, 1, 0)


async def test_an_expired_delta_link_lists_everything_again(
    graph: FakeGraph, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store)
    await _add(manager, graph)
    await manager.sync("hr")
    graph.files["2"].deleted = True  # unseen by the feed: only a full listing shows it gone
    graph.delta_expired = True

    report = await manager.sync("hr")

    assert ("delta", 410) in graph.requests
    assert (report.pages, report.removed, report.unchanged) == (1, 1, 1)


async def test_a_revoked_secret_stops_the_source_and_removes_nothing(
    graph: FakeGraph, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store)
    await _add(manager, graph)
    await manager.sync("hr")
    graph.secret = "rotated"

    report = await manager.sync("hr")

    assert report.error is not None
    assert report.error.startswith("Microsoft refused the app's credentials (HTTP 401)")
    assert SECRET not in report.error
    assert len(await store.list_documents()) == 2


async def test_unique_permissions_map_to_scopes_and_follow_sharing_changes(
    graph: FakeGraph, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    finance = {
        "grantedToV2": {"group": {"id": "g-fin", "displayName": "Finance"}},
        "roles": ["read"],
    }
    graph.change("1", shared_with=[finance])
    manager = _manager(engine, store)
    await _add(manager, graph)

    await manager.sync("hr")
    assert await _scopes(store) == {"Leave": ("finance",), "Travel": ("hr",)}

    graph.change("1", shared_with=[{"grantedToV2": {"user": {"id": "u1"}}, "roles": ["read"]}])
    graph.change("2", shared_with=[{"link": {"scope": "organization"}, "roles": ["read"]}])
    report = await manager.sync("hr")

    # Leave: shared with a person only, so the source's own scopes but public; Travel: open to
    # the organisation by a link, so the source's scopes, as when it inherited them.
    assert (report.updated, report.unchanged) == (1, 1)
    assert await _scopes(store) == {"Leave": ("hr",), "Travel": ("hr",)}
