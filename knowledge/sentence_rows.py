"""Sentence rows: each chunk's sentences and their vectors, written over COPY with the chunks.

A chunk's sentences depend only on its text, so the vectors of a chunk already stored with the
same text by the same model are reused, like the chunk's own vector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.chunk_rows import as_array, driver_connection
from knowledge.embedders import Vectors
from knowledge.sentences import indexed_sentences, sentence_embedding_text
from knowledge.types import Chunk

SentenceVectors = Mapping[str, Sequence[Vectors]]  # chunk content hash -> a vector per sentence


def sentence_texts(chunks: Sequence[Chunk]) -> dict[str, list[str]]:
    """What is embedded for each distinct chunk text's sentences, by content hash."""
    return {
        chunk.content_hash: [
            sentence_embedding_text(chunk.context, s) for s in indexed_sentences(chunk.text)
        ]
        for chunk in chunks
    }


async def known_sentence_vectors(
    connection: AsyncConnection, hashes: Sequence[str], model: str
) -> dict[str, list[Vectors]]:
    """Stored sentence vectors for these chunk texts from ``model``, from any document."""
    if not hashes:
        return {}
    rows = await connection.execute(
        text(
            "SELECT c.content_hash, c.id, s.position, s.embedding FROM chunks c "
            "JOIN sentences s ON s.chunk_id = c.id "
            "WHERE c.content_hash = ANY(:hashes) AND c.model = :model "
            "ORDER BY c.content_hash, c.id, s.position"
        ),
        {"hashes": list(set(hashes)), "model": model},
    )
    found: dict[str, tuple[str, list[Vectors]]] = {}
    for row in rows:
        chunk_id, vectors = found.setdefault(row.content_hash, (row.id, []))
        if chunk_id == row.id:  # one stored copy of the text is enough
            vectors.append(as_array(row.embedding))
    return {content_hash: vectors for content_hash, (_, vectors) in found.items()}


async def copy_sentences(
    connection: AsyncConnection, chunks: Sequence[Chunk], vectors: SentenceVectors
) -> None:
    """Write each chunk's sentences with their vectors (by the chunk's content hash)."""
    driver = await driver_connection(connection)
    async with (
        driver.cursor() as cursor,
        cursor.copy(
            "COPY sentences (chunk_id, position, text, embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["text", "int4", "text", "vector"])
        for chunk in chunks:
            sentences = indexed_sentences(chunk.text)
            for position, (sentence, vector) in enumerate(
                zip(sentences, vectors.get(chunk.content_hash, ()), strict=False)
            ):
                await copy.write_row((chunk.id, position, sentence, vector))


async def sentences_to_reembed(connection: AsyncConnection) -> dict[tuple[str, int], str]:
    """Every stored sentence as its model reads it, by chunk id and position."""
    rows = await connection.execute(
        text(
            "SELECT s.chunk_id, s.position, c.context, s.text "
            "FROM sentences s JOIN chunks c ON c.id = s.chunk_id"
        )
    )
    return {
        (row.chunk_id, row.position): sentence_embedding_text(row.context, row.text) for row in rows
    }


async def replace_sentence_vectors(
    connection: AsyncConnection, vectors: Mapping[tuple[str, int], Any]
) -> None:
    """Give every sentence its new vector (by chunk id and position)."""
    await connection.execute(
        text(
            "CREATE TEMPORARY TABLE resentenced (chunk_id text, position integer, "
            "embedding vector, PRIMARY KEY (chunk_id, position)) ON COMMIT DROP"
        )
    )
    driver = await driver_connection(connection)
    async with (
        driver.cursor() as cursor,
        cursor.copy(
            "COPY resentenced (chunk_id, position, embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["text", "int4", "vector"])
        for (chunk_id, position), vector in vectors.items():
            await copy.write_row((chunk_id, position, vector))
    await connection.execute(
        text(
            "UPDATE sentences SET embedding = r.embedding FROM resentenced r "
            "WHERE r.chunk_id = sentences.chunk_id AND r.position = sentences.position"
        )
    )
