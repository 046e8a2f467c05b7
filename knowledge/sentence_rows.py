"""Sentence rows: each chunk's sentences and their vectors, written over COPY with the chunks.

A chunk's sentences depend only on its text, so the vectors of a chunk already stored with the
same text by the same model are reused, like the chunk's own vector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.chunk_rows import as_array, copy_rows
from knowledge.embedders import Vectors
from knowledge.sentences import indexed_sentences, sentence_embedding_text
from knowledge.types import Chunk

# (chunk content hash, sentence) -> the sentence's vector
SentenceVectors = Mapping[tuple[str, str], Vectors]


def sentences_to_embed(
    chunks: Sequence[Chunk], known: SentenceVectors
) -> dict[tuple[str, str], str]:
    """What to embed for the chunks' sentences that have no stored vector yet."""
    return {
        (chunk.content_hash, sentence): sentence_embedding_text(chunk.context, sentence)
        for chunk in chunks
        for sentence in indexed_sentences(chunk.text)
        if (chunk.content_hash, sentence) not in known
    }


async def known_sentence_vectors(
    connection: AsyncConnection, hashes: Sequence[str], model: str
) -> dict[tuple[str, str], Vectors]:
    """Stored vectors of the sentences of these chunk texts from ``model``, from any document."""
    if not hashes:
        return {}
    rows = await connection.execute(
        text(
            "SELECT DISTINCT ON (c.content_hash, s.text) c.content_hash, s.text, s.embedding "
            "FROM chunks c JOIN sentences s ON s.chunk_id = c.id "
            "WHERE c.content_hash = ANY(:hashes) AND c.model = :model"
        ),
        {"hashes": list(set(hashes)), "model": model},
    )
    return {(row.content_hash, row.text): as_array(row.embedding) for row in rows}


async def copy_sentences(
    connection: AsyncConnection, chunks: Sequence[Chunk], vectors: SentenceVectors
) -> None:
    """Write each chunk's sentences with their vectors."""
    await copy_rows(
        connection,
        "COPY sentences (chunk_id, position, text, embedding) FROM STDIN (FORMAT BINARY)",
        ["text", "int4", "text", "vector"],
        (
            (chunk.id, position, sentence, vectors[(chunk.content_hash, sentence)])
            for chunk in chunks
            for position, sentence in enumerate(indexed_sentences(chunk.text))
        ),
    )


# (chunk id, position) -> the sentence, and the text its model reads for it
ChunkSentences = Mapping[tuple[str, int], tuple[str, str]]


async def sentences_of_chunks(
    connection: AsyncConnection,
) -> dict[tuple[str, int], tuple[str, str]]:
    """Every sentence of every stored chunk, stored or not yet: a chunk written before its
    sentences were indexed gets them from its text, as ``copy_sentences`` would have."""
    rows = await connection.execute(text("SELECT id, context, text FROM chunks"))
    return {
        (row.id, position): (sentence, sentence_embedding_text(row.context, sentence))
        for row in rows
        for position, sentence in enumerate(indexed_sentences(row.text))
    }


async def replace_sentence_vectors(
    connection: AsyncConnection, sentences: ChunkSentences, vectors: Mapping[tuple[str, int], Any]
) -> None:
    """Give every sentence in ``vectors`` its new vector, adding those not stored yet."""
    await connection.execute(
        text(
            "CREATE TEMPORARY TABLE resentenced (chunk_id text, position integer, text text, "
            "embedding vector, PRIMARY KEY (chunk_id, position)) ON COMMIT DROP"
        )
    )
    await copy_rows(
        connection,
        "COPY resentenced (chunk_id, position, text, embedding) FROM STDIN (FORMAT BINARY)",
        ["text", "int4", "text", "vector"],
        (
            (chunk_id, position, sentences[(chunk_id, position)][0], vector)
            for (chunk_id, position), vector in vectors.items()
            if (chunk_id, position) in sentences
        ),
    )
    # A chunk removed while we were embedding is skipped by the join.
    await connection.execute(
        text(
            "INSERT INTO sentences (chunk_id, position, text, embedding) "
            "SELECT r.chunk_id, r.position, r.text, r.embedding "
            "FROM resentenced r JOIN chunks c ON c.id = r.chunk_id "
            "ON CONFLICT (chunk_id, position) "
            "DO UPDATE SET text = EXCLUDED.text, embedding = EXCLUDED.embedding"
        )
    )
