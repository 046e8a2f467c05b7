"""Where files sent to the bot wait for their ingestion job: the ``uploads`` table, shared by
every replica.

A file is keyed by the chat platform's id for it and a hash of its bytes (a file sent again
with other contents under the same id, as Teams can, is a new upload). Its bytes stay until a
job has ingested it (or given up); the row stays after that, without the bytes, so the same
file delivered again is recognised instead of ingested twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import GuardedConnection

Stored = Literal["new", "waiting", "finished"]


@dataclass(frozen=True)
class Upload:
    """A file an admin sent the bot; ``key`` is made by ``upload_key``."""

    key: str
    name: str
    link: str
    data: bytes


def upload_key(platform: str, file_id: str, data: bytes) -> str:
    """``platform:file id:content hash``, the key an upload is stored and queued under."""
    return f"{platform}:{file_id}:{hashlib.sha256(data).hexdigest()[:16]}"


class PgUploads:
    """The ``uploads`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def store(self, upload: Upload) -> Stored:
        """Keep ``upload``'s bytes: ``new``; or say it was stored before and still waits for
        its job (``waiting``) or was ingested already (``finished``). Raises
        ``DatabaseUnavailableError``."""
        async with self._connection() as connection:
            inserted = await connection.scalar(
                text(
                    "INSERT INTO uploads (file_key, name, link, data) "
                    "VALUES (:key, :name, :link, :data) "
                    "ON CONFLICT (file_key) DO NOTHING RETURNING file_key"
                ),
                {"key": upload.key, "name": upload.name, "link": upload.link, "data": upload.data},
            )
            if inserted is not None:
                return "new"
            finished = await connection.scalar(
                text("SELECT finished_at IS NOT NULL FROM uploads WHERE file_key = :key"),
                {"key": upload.key},
            )
            return "finished" if finished else "waiting"

    async def waiting(self, key: str) -> Upload | None:
        """The upload whose job has not finished, with its bytes; None once it has."""
        async with self._connection() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT name, link, data FROM uploads "
                        "WHERE file_key = :key AND data IS NOT NULL"
                    ),
                    {"key": key},
                )
            ).first()
        return None if row is None else Upload(key, row.name, row.link, bytes(row.data))

    async def finish(self, key: str) -> None:
        """Drop the bytes of an ingested upload and remember that it was."""
        async with self._connection() as connection:
            await connection.execute(
                text("UPDATE uploads SET data = NULL, finished_at = now() WHERE file_key = :key"),
                {"key": key},
            )

    async def forget(self, key: str) -> None:
        """Remove an upload whose ingestion gave up, so the same file can be sent again."""
        async with self._connection() as connection:
            await connection.execute(
                text("DELETE FROM uploads WHERE file_key = :key"), {"key": key}
            )

    async def clear_old(self, days: int, pending_lock_prefix: str) -> int:
        """Delete the rows of uploads finished more than ``days`` ago, and of uploads stored
        that long ago whose job was never queued (their replica died in between and nothing
        replayed the message), bytes and all; returns how many."""
        async with self._connection() as connection:
            result = await connection.execute(
                text(
                    "DELETE FROM uploads u WHERE "
                    "(finished_at < now() - make_interval(days => :days)) OR "
                    "(finished_at IS NULL AND received_at < now() - make_interval(days => :days) "
                    " AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j "
                    "  WHERE j.lock = :prefix || u.file_key AND j.status IN ('todo', 'doing')))"
                ),
                {"days": days, "prefix": pending_lock_prefix},
            )
        return result.rowcount

    def _connection(self) -> GuardedConnection:
        return GuardedConnection(self._engine, begin=True)
