"""Migration 0006 on a database that has gaps and examples already: the gaps asked in DMs are
private, the first asker keeps the gap's wording, and examples get their documents' scopes
(an example citing a removed document gets a scope no export lets in)."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.chunking import chunk_document
from knowledge.database import _alembic_config, migrate
from knowledge.embedders import HashingEmbedder
from knowledge.store import PgDocumentStore
from tests.documents import policy

DM = {"platform": "slack", "address": {"channel": "DALICE", "thread_ts": "1.0"}}
CHANNEL = {"platform": "slack", "address": {"channel": "CGENERAL", "thread_ts": "2.0"}}


async def test_0006_keeps_what_existing_gaps_and_examples_may_show(engine: AsyncEngine) -> None:
    salaries = policy(url="https://hb.test/salaries", title="Salary Bands", scopes=("hr",))
    stored = await PgDocumentStore(engine, HashingEmbedder(384)).upsert(
        salaries, chunk_document(salaries)
    )

    def downgrade(connection: Connection) -> None:
        command.downgrade(_alembic_config(connection=connection), "0005")

    async with engine.begin() as connection:
        await connection.run_sync(downgrade)
        for question, askers in (("Dogs?", [DM]), ("Cats?", [CHANNEL, CHANNEL])):
            gap = await connection.scalar(
                text(
                    "INSERT INTO gaps (question, reason, scopes) "
                    "VALUES (:q, 'declined', '{public}') RETURNING id"
                ),
                {"q": question},
            )
            for n, reply_to in enumerate(askers):
                await connection.execute(
                    text(
                        "INSERT INTO gap_askers (gap_id, answer_id, reply_to, asked_at) "
                        "VALUES (:gap, :answer, CAST(:reply_to AS jsonb), "
                        "now() + make_interval(secs => :n))"
                    ),
                    {
                        "gap": gap,
                        "answer": f"{question}{n}",
                        "reply_to": json.dumps(reply_to),
                        "n": n,
                    },
                )
        for question, document_ids in (
            ("From hr", [stored.document_id]),
            ("From nothing known", [stored.document_id, "removed"]),
        ):
            sources = [{"document_id": d} for d in document_ids]
            await connection.execute(
                text(
                    "INSERT INTO answer_examples (kind, question, sources, answer) "
                    "VALUES ('admin', :q, CAST(:sources AS jsonb), 'a')"
                ),
                {"q": question, "sources": json.dumps(sources)},
            )
    await migrate(engine, embedding_dimension=384)

    async with engine.connect() as connection:
        gaps = dict((await connection.execute(text("SELECT question, private FROM gaps"))).all())
        askers = (
            await connection.execute(text("SELECT answer_id, question FROM gap_askers"))
        ).all()
        examples = dict(
            (await connection.execute(text("SELECT question, scopes FROM answer_examples"))).all()
        )
    assert gaps == {"Dogs?": True, "Cats?": False}
    assert sorted(askers) == [("Cats?0", "Cats?"), ("Cats?1", None), ("Dogs?0", "Dogs?")]
    assert examples == {"From hr": ["hr"], "From nothing known": ["(removed)", "hr"]}
