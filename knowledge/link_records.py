"""What the knowledge base keeps about links: the style each folder is linked in.

It does not change what an answer says, so it does not bump the corpus version.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import GuardedConnection
from knowledge.loading.links import LinkStyle


class PgLinkRecords:
    """Folder link styles in Postgres."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def folder_style(self, folder: str) -> LinkStyle | None:
        """The style the folder at ``folder`` (an absolute path) was last ingested with."""
        async with GuardedConnection(self._engine, begin=False) as connection:
            name = (
                await connection.execute(
                    text("SELECT style FROM folder_link_styles WHERE folder = :folder"),
                    {"folder": folder},
                )
            ).scalar_one_or_none()
        try:
            return LinkStyle.parse(name) if name is not None else None
        except ValueError:  # written by a later version: its default is as good a guess
            return None

    async def remember_folder_style(self, folder: str, style: LinkStyle) -> None:
        """Keep ``style`` as the style of the folder at ``folder`` for its next ingest."""
        async with GuardedConnection(self._engine, begin=True) as connection:
            await connection.execute(
                text(
                    "INSERT INTO folder_link_styles (folder, style) VALUES (:folder, :style) "
                    "ON CONFLICT (folder) DO UPDATE SET style = EXCLUDED.style, updated_at = now()"
                ),
                {"folder": folder, "style": style.name},
            )
