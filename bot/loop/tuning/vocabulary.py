"""The words the knowledge base uses, as it spells them: what the name scrubber must keep."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import GuardedConnection


async def knowledge_words(engine: AsyncEngine) -> frozenset[str]:
    """Every distinct word (a run of letters) of the chunks' texts and headings.

    Raises ``DatabaseUnavailableError``.
    """
    async with GuardedConnection(engine, begin=False) as connection:
        rows = await connection.execute(
            text(
                """
                SELECT DISTINCT word
                FROM chunks c,
                     regexp_split_to_table(c.context || ' ' || c.text, '[^[:alpha:]]+') AS word
                WHERE word <> ''
                """
            )
        )
        return frozenset(row.word for row in rows)
