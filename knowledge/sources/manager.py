"""Managing sources: add, list, sync (one, all, or those due) and remove."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.errors import KnowledgeError
from knowledge.sources.connector import ConnectorContext, SourceError
from knowledge.sources.kinds import SourceKind, kind_named
from knowledge.sources.records import PgSourceRecords
from knowledge.sources.sync import SourceSync
from knowledge.sources.types import SourceConfig, SourceStatus, SyncReport
from knowledge.store import PgDocumentStore
from knowledge.types import PUBLIC_SCOPE

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

ContextFor = Callable[[SourceKind], ConnectorContext]
"""The service's part of a connector's context for a kind: its credentials, allowed hosts…"""


class SourceManager:
    """The sources of one knowledge base."""

    def __init__(
        self,
        store: PgDocumentStore,
        records: PgSourceRecords,
        syncer: SourceSync,
        context_for: ContextFor,
    ) -> None:
        self._store = store
        self._records = records
        self._sync = syncer
        self._context_for = context_for

    async def add(
        self,
        kind_name: str,
        name: str,
        options: Mapping[str, Any],
        scopes: tuple[str, ...],
        interval_seconds: int,
    ) -> SourceConfig:
        """Keep a new source; raises ``SourceError`` naming a bad kind, name or option."""
        kind = kind_named(kind_name)
        if not _NAME.match(name):
            raise SourceError(
                f"source name {name!r}: use lower-case letters, digits, - and _ (at most 63)"
            )
        if interval_seconds < 60:
            raise SourceError("the sync interval must be at least 1 minute")
        try:
            settings = kind.settings(options)
        except ValueError as e:
            raise SourceError(str(e)) from None
        config = SourceConfig(
            name, kind.name, settings, scopes or (PUBLIC_SCOPE,), interval_seconds
        )
        await self._records.add(config)
        return config

    async def statuses(self) -> list[SourceStatus]:
        """Every source with how its last sync went, by name."""
        return await self._records.all()

    async def status(self, name: str) -> SourceStatus:
        """The source named ``name``; raises ``UnknownSourceError``."""
        return await self._records.get(name)

    async def sync(self, name: str) -> SyncReport:
        """Sync the source named ``name`` now; raises ``UnknownSourceError``."""
        status = await self._records.get(name)
        return await self._sync_one(status.config)

    async def sync_all(self, *, due_only: bool = False) -> list[SyncReport]:
        """Sync every source (or only those whose interval has passed since the last sync),
        one after another; one source's failure is its report, the others go on."""
        now = datetime.now(UTC)
        reports = []
        for status in await self._records.all():
            if due_only and not _due(status, now):
                continue
            try:
                reports.append(await self._sync_one(status.config))
            except SourceError as e:
                reports.append(SyncReport(status.config.name, error=str(e)))
            except KnowledgeError:
                raise  # the database or the embedder: every source would fail alike
            except Exception as e:
                # One source answering what its connector did not expect stops only itself.
                log.exception("source %s failed unexpectedly", status.config.name)
                reports.append(
                    SyncReport(status.config.name, error=f"unexpected {type(e).__name__}")
                )
        return reports

    async def remove(self, name: str) -> int:
        """Remove the source and the documents it brought; returns how many documents."""
        await self._records.get(name)

        async def forget(connection: AsyncConnection) -> None:
            await self._records.remove(connection, name)

        documents = await self._records.known_items(name)
        ids = sorted({i.document_id for i in documents.values() if i.document_id})
        await self._store.remove_documents(ids, along=forget)
        return len(ids)

    async def _sync_one(self, config: SourceConfig) -> SyncReport:
        kind = kind_named(config.kind)
        context = dataclasses.replace(self._context_for(kind), scopes=config.scopes)
        connector = kind.connector(config.settings, context)
        try:
            report = await self._sync.sync(config, connector)
        finally:
            await connector.aclose()
        if report.error:
            log.warning("source %s could not be synced: %s", config.name, report.error)
        return report


def _due(status: SourceStatus, now: datetime) -> bool:
    last = status.last_sync_at
    return last is None or now - last >= timedelta(seconds=status.config.interval_seconds)
