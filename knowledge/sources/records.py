"""Sources and their synced items in Postgres: what was configured, how the last sync went,
and each item's change marker and document."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from knowledge.database import GuardedConnection
from knowledge.sources.connector import SourceError, UnknownSourceError
from knowledge.sources.types import KnownItem, SourceConfig, SourceStatus, SyncReport

_STATUS_COLUMNS = (
    "last_sync_at",
    "last_success_at",
    "last_error",
    "pages",
    "added",
    "updated",
    "removed",
    "failed",
)


class PgSourceRecords:
    """The ``sources`` and ``source_items`` tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, config: SourceConfig) -> None:
        """Keep a new source; raises ``SourceError`` when the name is taken."""
        async with GuardedConnection(self._engine, begin=True) as connection:
            inserted = await connection.execute(
                text(
                    "INSERT INTO sources (name, kind, settings, scopes, interval_seconds) "
                    "VALUES (:name, :kind, CAST(:settings AS jsonb), :scopes, :interval) "
                    "ON CONFLICT (name) DO NOTHING"
                ),
                {
                    "name": config.name,
                    "kind": config.kind,
                    "settings": json.dumps(dict(config.settings)),
                    "scopes": list(config.scopes),
                    "interval": config.interval_seconds,
                },
            )
        if inserted.rowcount == 0:
            raise SourceError(f"a source named {config.name!r} exists already")

    async def get(self, name: str) -> SourceStatus:
        """The source named ``name``; raises ``UnknownSourceError``."""
        found = await self._statuses("WHERE name = :name", {"name": name})
        if not found:
            raise UnknownSourceError(f"no source named {name!r} (see `supportbot sources list`)")
        return found[0]

    async def all(self) -> list[SourceStatus]:
        """Every source, by name."""
        return await self._statuses("", {})

    async def cursor(self, name: str) -> str | None:
        """Where the source's change feed stopped last time."""
        async with GuardedConnection(self._engine, begin=False) as connection:
            value: str | None = (
                await connection.execute(
                    text("SELECT cursor FROM sources WHERE name = :name"), {"name": name}
                )
            ).scalar_one_or_none()
        return value

    async def known_items(self, name: str) -> dict[str, KnownItem]:
        """The items the source's last syncs stored, by id."""
        async with GuardedConnection(self._engine, begin=False) as connection:
            rows = await connection.execute(
                text(
                    "SELECT item_id, document_id, change_token, content_hash "
                    "FROM source_items WHERE source = :name"
                ),
                {"name": name},
            )
            return {
                row.item_id: KnownItem(
                    row.item_id, row.document_id, row.change_token, row.content_hash
                )
                for row in rows
            }

    async def keep_item(self, name: str, item: KnownItem) -> None:
        """Record what was stored of an item (or that it is unchanged, with its new marker)."""
        async with GuardedConnection(self._engine, begin=True) as connection:
            await connection.execute(
                text(
                    """
                    INSERT INTO source_items
                        (source, item_id, document_id, change_token, content_hash)
                    VALUES (:source, :id, :document, :change, :hash)
                    ON CONFLICT (source, item_id) DO UPDATE SET
                        document_id = EXCLUDED.document_id,
                        change_token = EXCLUDED.change_token,
                        content_hash = EXCLUDED.content_hash, synced_at = now()
                    """
                ),
                {
                    "source": name,
                    "id": item.id,
                    "document": item.document_id,
                    "change": item.change,
                    "hash": item.content_hash,
                },
            )

    async def forget_items(
        self, connection: AsyncConnection, name: str, ids: Sequence[str]
    ) -> None:
        """Drop items that are gone from the source, in the caller's transaction."""
        await connection.execute(
            text("DELETE FROM source_items WHERE source = :name AND item_id = ANY(:ids)"),
            {"name": name, "ids": list(ids)},
        )

    async def finish_sync(self, name: str, report: SyncReport, cursor: str | None) -> None:
        """Record how a sync went; a sync that could not list the source keeps the last counts."""
        async with GuardedConnection(self._engine, begin=True) as connection:
            if report.error is not None:
                await connection.execute(
                    text(
                        "UPDATE sources SET last_sync_at = now(), last_error = :error "
                        "WHERE name = :name"
                    ),
                    {"name": name, "error": report.error},
                )
                return
            await connection.execute(
                text(
                    """
                    UPDATE sources SET last_sync_at = now(),
                        last_success_at = CASE WHEN :failed = 0 THEN now()
                                               ELSE last_success_at END,
                        last_error = :error, pages = :pages, added = :added,
                        updated = :updated, removed = :removed, failed = :failed,
                        cursor = :cursor
                    WHERE name = :name
                    """
                ),
                {
                    "name": name,
                    "error": report.failures[0] if report.failures else None,
                    "pages": report.pages,
                    "added": report.added,
                    "updated": report.updated,
                    "removed": report.removed,
                    "failed": report.failed,
                    "cursor": cursor,
                },
            )

    async def remove(self, connection: AsyncConnection, name: str) -> None:
        """Delete the source and its items in the caller's transaction (the one that deletes
        its documents)."""
        await connection.execute(text("DELETE FROM sources WHERE name = :name"), {"name": name})

    async def _statuses(self, where: str, params: dict[str, Any]) -> list[SourceStatus]:
        query = f"SELECT * FROM sources {where} ORDER BY name"  # noqa: S608 - constant clauses
        async with GuardedConnection(self._engine, begin=False) as connection:
            rows = (await connection.execute(text(query), params)).mappings().all()
        return [
            SourceStatus(
                config=SourceConfig(
                    row["name"],
                    row["kind"],
                    dict(row["settings"]),
                    tuple(row["scopes"]),
                    int(row["interval_seconds"]),
                ),
                created_at=row["created_at"],
                **{column: row[column] for column in _STATUS_COLUMNS},
            )
            for row in rows
        ]
