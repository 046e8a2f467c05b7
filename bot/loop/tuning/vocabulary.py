"""The words the knowledge base uses, as it spells them: what the name scrubber must keep."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.loop.curation import CANONICAL_ANSWER_FORMAT
from knowledge.database import GuardedConnection


async def knowledge_words(engine: AsyncEngine) -> frozenset[str]:
    """Every distinct word (a run of letters) of the documents' chunks' texts and headings.

    Admins' answers are left out: they are written in chat, so a name in one is a person's,
    not a term of the documents. Raises ``DatabaseUnavailableError``.
    """
    async with GuardedConnection(engine, begin=False) as connection:
        rows = await connection.execute(
            text(
                """
                SELECT DISTINCT word
                FROM chunks c
                JOIN documents d ON d.id = c.document_id,
                     regexp_split_to_table(c.context || ' ' || c.text, '[^[:alpha:]]+') AS word
                WHERE word <> '' AND d.format <> :answers
                """
            ),
            {"answers": CANONICAL_ANSWER_FORMAT},
        )
        return frozenset(row.word for row in rows)
