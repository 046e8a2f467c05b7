"""Chunk rows and their vectors: written in bulk over COPY, and read back for reuse.

A chunk's vector depends only on its text, so a vector already stored for the same text by the
same model (in any document) is reused rather than embedded again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.embedders import Vectors
from knowledge.types import Chunk

# The chunk columns and their types in COPY order (the benchmark loads the same rows).
CHUNK_COPY_COLUMNS = (
    "id, document_id, position, heading_path, url, context, text, content_hash, scopes, "
    "model, embedding"
)
CHUNK_COPY_TYPES = [
    "text", "text", "int4", "text[]", "text", "text", "text", "text", "text[]", "text", "vector",
]  # fmt: skip


async def chunk_models(connection: AsyncConnection, document_id: str) -> list[str]:
    """The models that embedded the stored chunks of one document."""
    return list(
        (
            await connection.execute(
                text("SELECT DISTINCT model FROM chunks WHERE document_id = :id"),
                {"id": document_id},
            )
        )
        .scalars()
        .all()
    )


async def known_vectors(
    connection: AsyncConnection, hashes: Sequence[str], model: str
) -> dict[str, Any]:
    """Stored vectors for these chunk texts from ``model``, from any document."""
    if not hashes:
        return {}
    rows = await connection.execute(
        text(
            "SELECT DISTINCT ON (content_hash) content_hash, embedding FROM chunks "
            "WHERE content_hash = ANY(:hashes) AND model = :model"
        ),
        {"hashes": list(set(hashes)), "model": model},
    )
    return {row.content_hash: as_array(row.embedding) for row in rows}


async def delete_chunks(connection: AsyncConnection, document_id: str) -> None:
    """Delete one document's chunks."""
    await connection.execute(
        text("DELETE FROM chunks WHERE document_id = :id"), {"id": document_id}
    )


async def copy_chunks(
    connection: AsyncConnection,
    chunks: Sequence[Chunk],
    scopes: Sequence[str],
    model: str,
    vectors: Mapping[str, Vectors],
) -> None:
    """Write the chunks with their vectors (by content hash) in one COPY."""
    scope_list = list(scopes)
    await copy_rows(
        connection,
        f"COPY chunks ({CHUNK_COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)",
        CHUNK_COPY_TYPES,
        (
            (
                chunk.id,
                chunk.document_id,
                chunk.position,
                list(chunk.heading_path),
                chunk.url,
                chunk.context,
                chunk.text,
                chunk.content_hash,
                scope_list,
                model,
                vectors[chunk.content_hash],
            )
            for chunk in chunks
        ),
    )


async def texts_to_reembed(connection: AsyncConnection) -> dict[str, str]:
    """Every distinct chunk text as its model reads it, by content hash."""
    rows = await connection.execute(
        text("SELECT DISTINCT ON (content_hash) content_hash, context, text FROM chunks")
    )
    return {row.content_hash: f"{row.context}\n\n{row.text}" for row in rows}


async def replace_vectors(
    connection: AsyncConnection, vectors: Mapping[str, Any], model: str
) -> None:
    """Give every chunk the new vector for its text (by content hash), made by ``model``."""
    await connection.execute(
        text(
            "CREATE TEMPORARY TABLE reindexed (content_hash text PRIMARY KEY, "
            "embedding vector) ON COMMIT DROP"
        )
    )
    await copy_rows(
        connection,
        "COPY reindexed (content_hash, embedding) FROM STDIN (FORMAT BINARY)",
        ["text", "vector"],
        vectors.items(),
    )
    await connection.execute(
        text(
            "UPDATE chunks SET embedding = r.embedding, model = :model "
            "FROM reindexed r WHERE r.content_hash = chunks.content_hash"
        ),
        {"model": model},
    )


async def copy_rows(
    connection: AsyncConnection,
    statement: str,
    types: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
) -> None:
    """Write ``rows`` with one binary ``COPY ... FROM STDIN`` in the connection's transaction."""
    driver = await driver_connection(connection)
    async with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(list(types))
        for row in rows:
            await copy.write_row(row)


def as_array(value: Any) -> Vectors:
    """A stored vector (pgvector's ``Vector``) as the float32 array the embedders produce."""
    raw = value.to_numpy() if hasattr(value, "to_numpy") else value
    return np.asarray(raw, dtype=np.float32)


async def driver_connection(connection: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under a SQLAlchemy one, for COPY (same transaction)."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    return driver
