"""What the knowledge base keeps about links: the style each folder is linked in, and which
documents' links a check found broken.

Neither changes what an answer says, so neither bumps the corpus version.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import GuardedConnection
from knowledge.link_check import LinkCheck, LinkTarget
from knowledge.loading.links import LinkStyle

_RECORDED = ("open", "broken")


class PgLinkRecords:
    """Folder link styles and link-check results in Postgres."""

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

    async def targets(self) -> list[LinkTarget]:
        """Every document's link with the anchors its chunks are cited with, by title."""
        async with GuardedConnection(self._engine, begin=False) as connection:
            rows = await connection.execute(
                text(
                    """
                    SELECT d.id, d.title, d.url, d.content_hash,
                        array_remove(array_agg(DISTINCT c.url), NULL) AS links
                    FROM documents d LEFT JOIN chunks c ON c.document_id = d.id
                    GROUP BY d.id ORDER BY lower(d.title), d.id
                    """
                )
            )
            return [
                LinkTarget(
                    row.id, row.title, row.url, row.content_hash, _anchors(row.url, row.links)
                )
                for row in rows
            ]

    async def record(self, checks: Sequence[LinkCheck]) -> None:
        """Keep what ``checks`` found out (open or broken) for the documents not changed since
        their links were read. Nothing else about a document changes."""
        known = [
            {
                "id": c.target.document_id,
                "hash": c.target.content_hash,
                "problem": c.problem if c.verdict == "broken" else None,
            }
            for c in checks
            if c.verdict in _RECORDED
        ]
        if not known:
            return
        async with GuardedConnection(self._engine, begin=True) as connection:
            await connection.execute(
                text(
                    "UPDATE documents SET link_problem = :problem, link_checked_at = now() "
                    "WHERE id = :id AND content_hash = :hash"
                ),
                known,
            )


def _anchors(page: str, links: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted({link[len(page) :] for link in links if link.startswith(page + "#")}))
