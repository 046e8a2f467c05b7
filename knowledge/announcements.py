"""Versions not yet announced, claimed one at a time so that of several replicas exactly one
tells about each change.

A version is claimed by setting its ``announced_at`` where it is still NULL: the first
replica to do so gets the change, the others get nothing. A replica that stops between the
claim and the telling loses that announcement: a change is told at most once, never twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import GuardedConnection


@dataclass(frozen=True)
class DocumentChange:
    """One version of a document, with what a reader of the announcement needs: where the
    new text is, who may see it, and the sections it added, changed and removed (each None
    for a change whose earlier sections are not known)."""

    document_id: str
    number: int
    created_at: datetime
    title: str
    url: str
    scopes: tuple[str, ...]
    added: tuple[str, ...] | None
    changed: tuple[str, ...] | None
    removed: tuple[str, ...] | None
    # The text of the changed and removed sections before, of the added and changed after.
    before: Mapping[str, str] = field(default_factory=dict)
    after: Mapping[str, str] = field(default_factory=dict)

    @property
    def touched(self) -> tuple[str, ...]:
        """The sections whose earlier text is no longer there: changed or removed."""
        return (*(self.changed or ()), *(self.removed or ()))


class PgChangeClaims:
    """The versions recorded in Postgres that no replica has announced yet."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim_next(self) -> DocumentChange | None:
        """Claim the oldest unannounced version; None when there is none left. Raises
        ``DatabaseUnavailableError``."""
        async with GuardedConnection(self._engine, begin=True) as connection:
            row = (
                await connection.execute(
                    text(
                        """
                        UPDATE document_versions AS v SET announced_at = now()
                        FROM documents AS d
                        WHERE d.id = v.document_id
                          AND (v.document_id, v.number) = (
                            SELECT document_id, number FROM document_versions
                            WHERE announced_at IS NULL
                            ORDER BY created_at, number LIMIT 1
                            FOR UPDATE SKIP LOCKED)
                          AND v.announced_at IS NULL
                        RETURNING v.document_id, v.number, v.created_at, v.added, v.changed,
                                  v.removed, d.title, d.url, d.scopes,
                                  v.texts AS after,
                                  (SELECT p.texts FROM document_versions AS p
                                   WHERE p.document_id = v.document_id
                                     AND p.number = v.number - 1) AS before
                        """
                    )
                )
            ).first()
        if row is None:
            return None
        before, after = row.before or {}, row.after or {}
        change = DocumentChange(
            document_id=row.document_id,
            number=row.number,
            created_at=row.created_at,
            title=row.title,
            url=row.url,
            scopes=tuple(row.scopes),
            added=_names(row.added),
            changed=_names(row.changed),
            removed=_names(row.removed),
        )
        return dataclasses.replace(
            change,
            before={n: before[n] for n in change.touched if n in before},
            after={
                n: after[n] for n in (*(change.added or ()), *(change.changed or ())) if n in after
            },
        )


def _names(value: list[str] | None) -> tuple[str, ...] | None:
    return tuple(value) if value is not None else None
