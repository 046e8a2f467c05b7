"""A website source against a loopback site, synced through the real guarded fetcher into the
real store: first sync, an edit, a deletion, a failing page, a 429, robots.txt, a crawl."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.embedders import HashingEmbedder
from knowledge.sources.connector import ConnectorContext, SourceError, UnknownSourceError
from knowledge.sources.manager import SourceManager
from knowledge.sources.records import PgSourceRecords
from knowledge.sources.sync import SourceSync
from knowledge.store import PgDocumentStore
from tests.fake_site import FakeSite, fake_site

HOUR = 3600


@pytest.fixture
async def site() -> AsyncIterator[FakeSite]:
    async with fake_site() as running:
        running.page("/leave.html", "Leave policy", "<h2>Annual leave</h2><p>You get 27 days.</p>")
        running.page("/travel.html", "Travel policy", "<h2>Flights</h2><p>Book economy.</p>")
        running.page("/security.html", "Security", "<h2>Laptops</h2><p>Report a lost one.</p>")
        yield running


@pytest.fixture
def manager(engine: AsyncEngine, store: PgDocumentStore) -> SourceManager:
    records = PgSourceRecords(engine)
    return SourceManager(store, records, SourceSync(store, records), lambda _: ConnectorContext())


async def _titles(store: PgDocumentStore) -> dict[str, str]:
    return {d.title: d.url for d in await store.list_documents()}


async def test_a_sitemap_syncs_its_pages_then_an_edit_and_a_removal(
    site: FakeSite, manager: SourceManager, store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    await manager.add("web", "intranet", {"sitemap": f"{site.base}/sitemap.xml"}, ("hr",), HOUR)

    first = await manager.sync("intranet")
    assert (first.pages, first.added, first.updated, first.removed) == (3, 3, 0, 0)
    assert await _titles(store) == {
        "Leave policy": f"{site.base}/leave.html",
        "Travel policy": f"{site.base}/travel.html",
        "Security": f"{site.base}/security.html",
    }
    assert {d.scopes for d in await store.list_documents()} == {("hr",)}

    calls = embedder.calls
    site.requests.clear()
    again = await manager.sync("intranet")
    assert (again.unchanged, again.added, again.updated) == (3, 0, 0)
    assert embedder.calls == calls, "an unchanged page was embedded"
    assert sorted(site.page_requests()) == [
        ("/leave.html", 304),
        ("/security.html", 304),
        ("/travel.html", 304),
    ]

    site.page("/leave.html", "Leave policy", "<h2>Annual leave</h2><p>You get 30 days.</p>")
    del site.pages["/security.html"]
    edited = await manager.sync("intranet")
    assert (edited.pages, edited.updated, edited.removed, edited.unchanged) == (2, 1, 1, 1)
    assert set(await _titles(store)) == {"Leave policy", "Travel policy"}
    [status] = await manager.statuses()
    assert (status.pages, status.updated, status.removed, status.last_error) == (2, 1, 1, None)
    assert status.last_success_at is not None


async def test_a_lastmod_that_did_not_change_skips_the_page_without_requesting_it(
    site: FakeSite, manager: SourceManager
) -> None:
    await manager.add("web", "intranet", {"sitemap": f"{site.base}/sitemap.xml"}, ("public",), HOUR)
    await manager.sync("intranet")
    site.lastmod = {path: "2026-12-01" for path in site.pages}
    await manager.sync("intranet")  # 304s: the pages are as stored; their <lastmod> is kept
    site.requests.clear()
    assert (await manager.sync("intranet")).unchanged == 3
    assert site.page_requests() == []
    site.lastmod["/travel.html"] = "2026-12-05"
    site.page("/travel.html", "Travel policy", "<h2>Flights</h2><p>Book business.</p>")

    report = await manager.sync("intranet")

    assert (report.updated, report.unchanged) == (1, 2)
    assert site.page_requests() == [("/travel.html", 200)]


async def test_a_failing_page_is_reported_and_the_others_sync(
    site: FakeSite, manager: SourceManager, store: PgDocumentStore
) -> None:
    await manager.add("web", "intranet", {"sitemap": f"{site.base}/sitemap.xml"}, ("public",), HOUR)
    await manager.sync("intranet")
    site.failing.add("/travel.html")
    site.page("/leave.html", "Leave policy", "<h2>Annual leave</h2><p>You get 31 days.</p>")

    report = await manager.sync("intranet")

    assert report.updated == 1 and report.removed == 0
    assert report.failures == (f"{site.base}/travel.html: the server answered HTTP 500",)
    assert "Travel policy" in await _titles(store), "a failing page's document was removed"
    [status] = await manager.statuses()
    assert status.failed == 1 and status.last_error == report.failures[0]


async def test_a_429_is_waited_out_as_retry_after_says(
    site: FakeSite, manager: SourceManager, store: PgDocumentStore
) -> None:
    site.throttled["/leave.html"] = 2
    await manager.add("web", "intranet", {"sitemap": f"{site.base}/sitemap.xml"}, ("public",), HOUR)

    report = await manager.sync("intranet")

    assert report.ok and report.added == 3
    leave = [status for path, status in site.requests if path == "/leave.html"]
    assert leave == [429, 429, 200]


async def test_a_sitemap_that_cannot_be_read_removes_nothing(
    site: FakeSite, manager: SourceManager, store: PgDocumentStore
) -> None:
    await manager.add("web", "intranet", {"sitemap": f"{site.base}/sitemap.xml"}, ("public",), HOUR)
    await manager.sync("intranet")
    site.sitemap_status = 503

    report = await manager.sync("intranet")

    assert report.error == f"the sitemap {site.base}/sitemap.xml could not be read: HTTP 503"
    assert len(await store.list_documents()) == 3
    [status] = await manager.statuses()
    assert status.last_error == report.error and status.pages == 3


async def test_robots_txt_keeps_pages_out(
    site: FakeSite, manager: SourceManager, store: PgDocumentStore
) -> None:
    site.robots = "User-agent: *\nDisallow: /security.html\n"
    await manager.add("web", "intranet", {"sitemap": f"{site.base}/sitemap.xml"}, ("public",), HOUR)

    report = await manager.sync("intranet")

    assert report.added == 2
    assert "Security" not in await _titles(store)
    assert ("/security.html", 200) not in site.requests


async def test_a_crawl_stays_within_its_prefix_and_drops_pages_no_longer_linked(
    site: FakeSite, manager: SourceManager, store: PgDocumentStore
) -> None:
    site.page("/handbook/index.html", "Handbook", "<p>Start here.</p>", ("pay.html", "/leave.html"))
    site.page("/handbook/pay.html", "Pay", "<h2>Payday</h2><p>The 25th.</p>", ("old.html",))
    site.page("/handbook/old.html", "Old", "<p>Old page.</p>")
    start = f"{site.base}/handbook/index.html"
    await manager.add("web", "handbook", {"start": start}, ("public",), HOUR)

    first = await manager.sync("handbook")
    assert first.added == 3
    assert set(await _titles(store)) == {"Handbook", "Pay", "Old"}

    site.page("/handbook/pay.html", "Pay", "<h2>Payday</h2><p>The 25th.</p>")
    second = await manager.sync("handbook")
    assert (second.removed, second.updated, second.unchanged) == (1, 1, 1)
    assert set(await _titles(store)) == {"Handbook", "Pay"}


async def test_a_redirect_into_another_private_host_is_refused(
    site: FakeSite, manager: SourceManager, store: PgDocumentStore
) -> None:
    port = site.base.rsplit(":", 1)[1]
    site.redirects["/leave.html"] = f"http://localhost:{port}/travel.html"
    await manager.add("web", "intranet", {"sitemap": f"{site.base}/sitemap.xml"}, ("public",), HOUR)

    report = await manager.sync("intranet")

    [failure] = report.failures
    assert failure.startswith(f"{site.base}/leave.html: localhost resolves to")
    assert "loopback" in failure


async def test_bad_sources_are_refused_with_one_line(manager: SourceManager) -> None:
    with pytest.raises(
        SourceError,
        match="unknown source kind 'ftp' \\(known: confluence, gdrive, notion, sharepoint, web\\)",
    ):
        await manager.add("ftp", "x", {}, ("public",), HOUR)
    with pytest.raises(SourceError, match="'file:///etc/passwd' is not an http\\(s\\) URL"):
        await manager.add("web", "x", {"sitemap": "file:///etc/passwd"}, ("public",), HOUR)
    with pytest.raises(SourceError, match="source name 'Bad Name'"):
        await manager.add("web", "Bad Name", {"sitemap": "https://a.example/"}, ("public",), HOUR)
    await manager.add("web", "x", {"sitemap": "https://a.example/s.xml"}, ("public",), HOUR)
    with pytest.raises(SourceError, match="a source named 'x' exists already"):
        await manager.add("web", "x", {"sitemap": "https://b.example/s.xml"}, ("public",), HOUR)
    with pytest.raises(UnknownSourceError, match="no source named 'nope'"):
        await manager.sync("nope")
    assert [s.config.name for s in await manager.statuses()] == ["x"]


async def test_removing_a_source_removes_its_documents(
    site: FakeSite, manager: SourceManager, store: PgDocumentStore
) -> None:
    await manager.add("web", "intranet", {"sitemap": f"{site.base}/sitemap.xml"}, ("public",), HOUR)
    await manager.sync("intranet")

    assert await manager.remove("intranet") == 3

    assert await store.list_documents() == []
    assert await manager.statuses() == []


async def test_only_sources_whose_interval_has_passed_are_due(
    site: FakeSite, manager: SourceManager
) -> None:
    sitemap = {"sitemap": f"{site.base}/sitemap.xml"}
    await manager.add("web", "synced", sitemap, ("public",), HOUR)
    await manager.add("web", "fresh", sitemap, ("public",), HOUR)
    await manager.sync("synced")

    due = await manager.sync_all(due_only=True)

    assert [r.source for r in due] == ["fresh"]
    assert await manager.sync_all(due_only=True) == []
