"""A Google Drive folder as a source, against a loopback Drive API: a service account signs
in, the folder and its subfolder are listed page by page, a Google Doc is exported and a
Markdown file downloaded; then an edit, a trashed file, a sharing change mapped through the
access file's groups, a failing file, a 429 and a revoked account."""

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
from tests.fake_drive import DOC, FOLDER, ROOT, DriveEntry, FakeDrive, fake_drive

HR_ONLY = [{"type": "group", "emailAddress": "HR@example.com"}, {"type": "user"}]


@pytest.fixture
async def drive() -> AsyncIterator[FakeDrive]:
    async with fake_drive() as fake:
        leave = "<html><body><h1>Leave</h1><h2>Annual</h2><p>You get 27 days.</p></body></html>"
        fake.entries["d1"] = DriveEntry("Leave", ROOT, DOC, leave)
        fake.entries["f1"] = DriveEntry("Benefits", ROOT, FOLDER)
        fake.entries["m1"] = DriveEntry("pay.md", "f1", content="# Pay\n\nOn the 25th.")
        fake.entries["m2"] = DriveEntry("bands.md", "f1", content="# Bands\n\n4 bands.")
        fake.entries["m2"].shared_with = HR_ONLY
        fake.entries["p1"] = DriveEntry("logo.png", ROOT, "image/png", "x")
        yield fake


def _manager(engine: AsyncEngine, store: PgDocumentStore, drive: FakeDrive) -> SourceManager:
    records = PgSourceRecords(engine)
    context = ConnectorContext(
        credentials={"google_service_account": drive.service_account()},
        groups={"hr@example.com": ("hr",)},
    )
    return SourceManager(store, records, SourceSync(store, records), lambda _: context)


async def _add(manager: SourceManager, drive: FakeDrive) -> None:
    settings = {"folder": ROOT, "api": f"{drive.base}/drive/v3"}
    await manager.add("gdrive", "drive", settings, ("public",), 3600)


async def _scopes(store: PgDocumentStore) -> dict[str, tuple[str, ...]]:
    return {d.title: d.scopes for d in await store.list_documents()}


async def test_a_folder_syncs_then_edits_trash_and_sharing_follow(
    drive: FakeDrive, engine: AsyncEngine, store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    manager = _manager(engine, store, drive)
    await _add(manager, drive)

    first = await manager.sync("drive")
    assert (first.pages, first.added) == (3, 3)
    assert await _scopes(store) == {"Leave": ("public",), "Pay": ("public",), "Bands": ("hr",)}
    [leave] = [d for d in await store.list_documents() if d.title == "Leave"]
    assert leave.url == "https://docs.google.com/d/d1/view"

    calls = embedder.calls
    drive.requests.clear()
    again = await manager.sync("drive")
    assert again.unchanged == 3 and embedder.calls == calls
    assert all(name.startswith(("token", "list")) for name, _ in drive.requests)

    drive.entries["d1"].content = drive.entries["d1"].content.replace("27", "30")
    drive.entries["d1"].modified = "2026-12-06T09:00:00.000Z"
    drive.entries["m1"].trashed = True
    drive.entries["m2"].shared_with = [{"type": "group", "emailAddress": "sales@example.com"}]
    changed = await manager.sync("drive")

    assert (changed.updated, changed.removed, changed.pages) == (2, 1, 2)
    assert await _scopes(store) == {"Leave": ("public",), "Bands": ("restricted",)}


async def test_a_failing_file_and_a_429_do_not_stop_the_others(
    drive: FakeDrive, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store, drive)
    await _add(manager, drive)
    drive.failing.add("m1")
    drive.throttled["d1"] = 1

    report = await manager.sync("drive")

    assert report.added == 2
    assert report.failures == ("pay.md: Google Drive answered HTTP 500",)
    assert [s for n, s in drive.requests if n == "export:d1"] == [429, 200]


async def test_a_revoked_account_stops_the_source_and_removes_nothing(
    drive: FakeDrive, engine: AsyncEngine, store: PgDocumentStore
) -> None:
    manager = _manager(engine, store, drive)
    await _add(manager, drive)
    await manager.sync("drive")
    drive.revoked = True

    report = await manager.sync("drive")

    assert report.error == (
        "Google refused the service account (HTTP 400): "
        "check SUPPORTBOT_GOOGLE_SERVICE_ACCOUNT_FILE"
    )
    assert len(await store.list_documents()) == 3
