"""Review reminders: when a document's review date passes, its owner gets a direct message,
at most weekly, listing all their overdue documents; an owner no chat platform knows, and a
document with no owner, are reported to admins once.

Every replica checks; who is reminded is claimed in Postgres (``review_reminders``) with one
statement per owner, so of several replicas one sends each reminder.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.types import ReplyTo
from bot.loop import review_messages as messages
from bot.platforms.delivery import AskerReporter
from bot.platforms.people import People
from knowledge.database import GuardedConnection
from knowledge.store import PgDocumentStore
from knowledge.types import ACTIVE, StoredDocument

log = logging.getLogger(__name__)

REMIND_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class ReviewRound:
    """What one check did: owners reminded, owners and ownerless documents reported."""

    reminded: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    without_owner: tuple[str, ...] = ()


class ReviewReminders:
    def __init__(
        self, store: PgDocumentStore, engine: AsyncEngine, people: People, reporter: AskerReporter
    ) -> None:
        self._store = store
        self._engine = engine
        self._people = people
        self._reporter = reporter

    async def remind(self, today: date) -> ReviewRound:
        """Remind the owners of active documents overdue on ``today`` whom no replica reminded
        in the last week. Raises ``DatabaseUnavailableError``."""
        by_owner: dict[str, list[StoredDocument]] = defaultdict(list)
        for document in await self._store.list_documents():
            if document.status == ACTIVE and document.review_overdue(today):
                by_owner[(document.owner or "").strip()].append(document)
        reminded: list[str] = []
        unknown: list[str] = []
        ownerless: list[str] = []
        for owner, documents in sorted(by_owner.items()):
            documents.sort(key=lambda d: (d.review_by, d.title.lower()))
            if not owner:
                for document in documents:
                    if await self._claim_report(f"document:{document.id}"):
                        await self._tell_admins(messages.owner_missing(document))
                        ownerless.append(document.id)
                continue
            if not await self._claim_reminder(owner):
                continue
            destination = await self._people.find(owner)
            if destination is not None:
                await _deliver(self._reporter, destination, messages.owner_reminder(documents))
                reminded.append(owner)
            elif await self._claim_report(owner):
                await self._tell_admins(messages.owner_unreachable(owner, documents))
                unknown.append(owner)
        return ReviewRound(tuple(reminded), tuple(unknown), tuple(ownerless))

    async def remind_today(self) -> None:
        """``remind`` for today (UTC), for the background loop."""
        outcome = await self.remind(datetime.now(UTC).date())
        if outcome != ReviewRound():
            log.info(
                "review reminders: %d owners reminded, %d unknown, %d documents without owner",
                len(outcome.reminded), len(outcome.unknown), len(outcome.without_owner),
            )  # fmt: skip

    async def _tell_admins(self, markdown: str) -> None:
        if not self._people.admins:
            log.warning("a review report for admins has nowhere to go: no admins are configured")
        for destination in self._people.admins:
            await _deliver(self._reporter, destination, markdown)

    async def _claim_reminder(self, owner: str) -> bool:
        async with GuardedConnection(self._engine, begin=True) as connection:
            claimed = await connection.scalar(
                text(
                    """
                    INSERT INTO review_reminders (owner, reminded_at) VALUES (:owner, now())
                    ON CONFLICT (owner) DO UPDATE SET reminded_at = now()
                    WHERE review_reminders.reminded_at IS NULL
                       OR review_reminders.reminded_at <= now() - CAST(:every AS interval)
                    RETURNING owner
                    """
                ),
                {"owner": owner, "every": f"{REMIND_EVERY.total_seconds()} seconds"},
            )
        return claimed is not None

    async def _claim_report(self, key: str) -> bool:
        async with GuardedConnection(self._engine, begin=True) as connection:
            claimed = await connection.scalar(
                text(
                    """
                    INSERT INTO review_reminders (owner, unknown_reported_at)
                    VALUES (:key, now())
                    ON CONFLICT (owner) DO UPDATE SET unknown_reported_at = now()
                    WHERE review_reminders.unknown_reported_at IS NULL
                    RETURNING owner
                    """
                ),
                {"key": key},
            )
        return claimed is not None


async def _deliver(reporter: AskerReporter, destination: ReplyTo, markdown: str) -> None:
    # A channel (an admin channel) is posted in; a person gets a direct message.
    if destination.address.get("channel"):
        await reporter.report(destination, markdown)
    else:
        await reporter.report_privately(destination, markdown)
