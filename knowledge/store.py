"""The document store: atomic add-or-replace, remove, list, reindex and the corpus version.

Every change runs in one transaction that first bumps the single ``corpus`` row. That row lock
serialises writers, and the new version number is what answer caches key on: a reader sees the
old document or the new one, never a mix, and never an old answer under a new version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from knowledge.chunking import document_id_for, stored_hash
from knowledge.database import GuardedConnection
from knowledge.embedders import Embedder, Vectors
from knowledge.errors import DocumentNotFoundError, EmbeddingModelMismatchError
from knowledge.schema import CHUNKS_TABLE, HNSW_BUILD_MEMORY, HNSW_INDEX, hnsw_index_ddl
from knowledge.types import Chunk, Document, IngestResult, StoredDocument

# The chunk columns and their types in COPY order (the benchmark loads the same rows).
CHUNK_COPY_COLUMNS = (
    "id, document_id, position, heading_path, url, context, text, content_hash, scopes, "
    "model, embedding"
)
CHUNK_COPY_TYPES = [
    "text", "text", "int4", "text[]", "text", "text", "text", "text", "text[]", "text", "vector",
]  # fmt: skip

ProgressCallback = Callable[[int], None]
_DOCUMENT_FIELDS = [f.name for f in dataclasses.fields(StoredDocument)]


class PgDocumentStore:
    """Documents and their embedded chunks in Postgres with pgvector."""

    def __init__(self, engine: AsyncEngine, embedder: Embedder) -> None:
        self._engine = engine
        self._embedder = embedder

    async def corpus_version(self) -> int:
        """A number that changes with every change to the stored documents."""
        async with self._connect() as connection:
            result = await connection.execute(text("SELECT version FROM corpus"))
            return int(result.scalar_one())

    async def check_embedder(self) -> None:
        """Refuse to mix vectors: the configured model must be the one the corpus was built with."""
        async with self._connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT embedding_model, embedding_dimension FROM corpus")
                )
            ).one()
        self._require_same_model(row.embedding_model, row.embedding_dimension)

    def _require_same_model(self, stored_model: str | None, stored_dimension: int) -> None:
        model, dimension = self._embedder.model, self._embedder.dimension
        if stored_model not in (None, model) or stored_dimension != dimension:
            stored = f"{stored_model or 'no model'} ({stored_dimension} dimensions)"
            raise EmbeddingModelMismatchError(
                f"the knowledge base was embedded with {stored}, but the configured model is "
                f"{model} ({dimension} dimensions): run `supportbot reindex`"
            )

    @asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        """Load many documents into an empty knowledge base, building the vector index once.

        Growing an HNSW graph one insert at a time costs several times more than building it
        once after the load (pgvector's own advice), so when the corpus is empty the index is
        dropped for the load and built at the end. Each document is still stored atomically;
        searches during the load are exact scans. A load that dies before the end leaves no
        index: ``ensure_vector_index`` (run whenever the knowledge base is opened) builds it.
        """
        async with self._transaction() as connection:
            empty = not (
                await connection.execute(text("SELECT EXISTS (SELECT 1 FROM chunks)"))
            ).scalar()
            if empty:
                await connection.execute(text(f"DROP INDEX IF EXISTS {HNSW_INDEX}"))
        try:
            yield
            # Full-text search picks a question's words by the lexeme statistics ANALYZE
            # keeps; refreshed now, results right after a load match those after autovacuum.
            async with self._connect() as connection:
                await connection.execute(text(f"ANALYZE {CHUNKS_TABLE}"))
        finally:
            if empty:
                await self.ensure_vector_index()

    async def ensure_vector_index(self) -> None:
        """Build the HNSW index if it is missing (after an interrupted bulk load)."""
        async with self._connect() as connection:
            exists = (
                await connection.execute(
                    text("SELECT 1 FROM pg_indexes WHERE indexname = :name"), {"name": HNSW_INDEX}
                )
            ).scalar()
        if exists:
            return
        async with self._transaction() as connection:
            await _build_vector_index(connection)

    async def upsert(self, document: Document, chunks: Sequence[Chunk]) -> IngestResult:
        """Add ``document`` or replace the stored version of it, atomically.

        Only chunks whose text is new are embedded; an unchanged document is not written at all.
        """
        doc_id = document_id_for(document.url)
        content_hash = stored_hash(document, chunks)
        model = self._embedder.model
        async with self._connect() as connection:
            existing = (
                await connection.execute(
                    text("SELECT content_hash FROM documents WHERE id = :id"), {"id": doc_id}
                )
            ).scalar_one_or_none()
            stored_models = (
                (
                    await connection.execute(
                        text("SELECT DISTINCT model FROM chunks WHERE document_id = :id"),
                        {"id": doc_id},
                    )
                )
                .scalars()
                .all()
            )
            if existing == content_hash and set(stored_models) <= {model}:
                version = (await connection.execute(text("SELECT version FROM corpus"))).scalar()
                return IngestResult(
                    doc_id, document.title, "unchanged", len(chunks), 0, int(version or 0),
                    len(document.sections),
                )  # fmt: skip
            known = await self._known_vectors(connection, [c.content_hash for c in chunks])

        missing = [c for c in chunks if c.content_hash not in known]
        if missing:
            unique = {c.content_hash: c.embedding_text for c in missing}
            vectors = await self._embedder.embed(list(unique.values()))
            known.update(zip(unique, vectors, strict=True))

        async with self._transaction() as connection:
            version = await self._bump_version(connection)
            await connection.execute(
                text(
                    """
                    INSERT INTO documents (id, title, url, source, format, owner, scopes,
                        content_hash, effective_date, review_by)
                    VALUES (:id, :title, :url, :source, :format, :owner, :scopes,
                        :content_hash, :effective_date, :review_by)
                    ON CONFLICT (id) DO UPDATE SET
                        title = EXCLUDED.title, source = EXCLUDED.source,
                        format = EXCLUDED.format, owner = EXCLUDED.owner,
                        scopes = EXCLUDED.scopes, content_hash = EXCLUDED.content_hash,
                        effective_date = EXCLUDED.effective_date,
                        review_by = EXCLUDED.review_by,
                        version = documents.version + 1, updated_at = now()
                    """
                ),
                {
                    "id": doc_id,
                    "title": document.title,
                    "url": document.url,
                    "source": document.source,
                    "format": document.format,
                    "owner": document.owner,
                    "scopes": list(document.scopes),
                    "content_hash": content_hash,
                    "effective_date": document.effective_date,
                    "review_by": document.review_by,
                },
            )
            await connection.execute(
                text("DELETE FROM chunks WHERE document_id = :id"), {"id": doc_id}
            )
            await self._copy_chunks(connection, chunks, document.scopes, known)
        return IngestResult(
            doc_id,
            document.title,
            "updated" if existing is not None else "added",
            len(chunks),
            len(missing),
            version,
            len(document.sections),
        )

    async def remove(self, reference: str) -> StoredDocument:
        """Remove the document whose id, canonical link or title is ``reference``."""
        document = await self.find(reference)
        async with self._transaction() as connection:
            await self._bump_version(connection, same_model=False)
            await connection.execute(
                text("DELETE FROM documents WHERE id = :id"), {"id": document.id}
            )
        return document

    async def find(self, reference: str) -> StoredDocument:
        """The one stored document whose id, canonical link or title (any case) is ``reference``."""
        matches = await self._documents(
            "WHERE d.id = :ref OR d.url = :ref OR lower(d.title) = lower(:ref)", {"ref": reference}
        )
        if not matches:
            raise DocumentNotFoundError(f"no document with id, link or title {reference!r}")
        if len(matches) > 1:
            ids = ", ".join(d.id for d in matches)
            raise DocumentNotFoundError(
                f"{len(matches)} documents are titled {reference!r} ({ids}): give an id"
            )
        return matches[0]

    async def list_documents(self) -> list[StoredDocument]:
        """Every stored document, by title."""
        return await self._documents("", {})

    async def _documents(self, where: str, params: dict[str, str]) -> list[StoredDocument]:
        query = f"""
            SELECT d.*, (SELECT count(*) FROM chunks c WHERE c.document_id = d.id) AS chunk_count
            FROM documents d {where} ORDER BY lower(d.title), d.id
        """  # noqa: S608 - ``where`` is one of this class's constants; values are bound
        async with self._connect() as connection:
            rows = (await connection.execute(text(query), params)).mappings()
            return [
                StoredDocument(
                    **{**{n: row[n] for n in _DOCUMENT_FIELDS}, "scopes": tuple(row["scopes"])}
                )
                for row in rows
            ]

    async def reindex(self, progress: ProgressCallback | None = None) -> int:
        """Re-embed every chunk with the configured model; returns how many were embedded.

        When the new model's dimension differs, the vector column and its HNSW index are
        rebuilt for it in the same transaction, so searches see old vectors or new, never both.
        """
        async with self._connect() as connection:
            pending = await self._texts_to_reembed(connection)
        vectors = await self._embed_in_batches(pending, progress)

        async with self._transaction() as connection:
            await self._bump_version(connection, same_model=False)
            # Chunks written while we were embedding are picked up here, under the lock.
            late = {
                h: t
                for h, t in (await self._texts_to_reembed(connection)).items()
                if h not in vectors
            }
            vectors.update(await self._embed_in_batches(late, progress))
            dimension = (
                await connection.execute(text("SELECT embedding_dimension FROM corpus"))
            ).scalar_one()
            if dimension != self._embedder.dimension:
                # The vector column's size is fixed by the model; a new model needs a new column
                # type, and the index is rebuilt once after the update rather than per row.
                await connection.execute(text(f"DROP INDEX {HNSW_INDEX}"))
                await connection.execute(
                    text(
                        "ALTER TABLE chunks ALTER COLUMN embedding TYPE "
                        f"vector({int(self._embedder.dimension)}) USING NULL"
                    )
                )
            await connection.execute(
                text(
                    "CREATE TEMPORARY TABLE reindexed (content_hash text PRIMARY KEY, "
                    "embedding vector) ON COMMIT DROP"
                )
            )
            driver = await _driver_connection(connection)
            async with (
                driver.cursor() as cursor,
                cursor.copy(
                    "COPY reindexed (content_hash, embedding) FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["text", "vector"])
                for content_hash, vector in vectors.items():
                    await copy.write_row((content_hash, vector))
            await connection.execute(
                text(
                    "UPDATE chunks SET embedding = r.embedding, model = :model "
                    "FROM reindexed r WHERE r.content_hash = chunks.content_hash"
                ),
                {"model": self._embedder.model},
            )
            if dimension != self._embedder.dimension:
                await _build_vector_index(connection)
            await connection.execute(
                text("UPDATE corpus SET embedding_model = :model, embedding_dimension = :dim"),
                {"model": self._embedder.model, "dim": self._embedder.dimension},
            )
        return len(vectors)

    async def _texts_to_reembed(self, connection: AsyncConnection) -> dict[str, str]:
        rows = await connection.execute(
            text("SELECT DISTINCT ON (content_hash) content_hash, context, text FROM chunks")
        )
        return {row.content_hash: f"{row.context}\n\n{row.text}" for row in rows}

    async def _embed_in_batches(
        self, texts: dict[str, str], progress: ProgressCallback | None, batch: int = 256
    ) -> dict[str, Any]:
        hashes = list(texts)
        vectors: dict[str, Any] = {}
        for start in range(0, len(hashes), batch):
            part = hashes[start : start + batch]
            embedded = await self._embedder.embed([texts[h] for h in part])
            vectors.update(zip(part, embedded, strict=True))
            if progress:
                progress(len(part))
        return vectors

    async def _known_vectors(
        self, connection: AsyncConnection, hashes: Sequence[str]
    ) -> dict[str, Any]:
        """Stored vectors for these chunk texts from the current model, from any document."""
        if not hashes:
            return {}
        rows = await connection.execute(
            text(
                "SELECT DISTINCT ON (content_hash) content_hash, embedding FROM chunks "
                "WHERE content_hash = ANY(:hashes) AND model = :model"
            ),
            {"hashes": list(set(hashes)), "model": self._embedder.model},
        )
        return {row.content_hash: _as_array(row.embedding) for row in rows}

    async def _bump_version(self, connection: AsyncConnection, *, same_model: bool = True) -> int:
        """Take the writers' lock, advance the corpus version and return it."""
        row = (
            await connection.execute(
                text(
                    "UPDATE corpus SET version = version + 1, updated_at = now() "
                    "RETURNING version, embedding_model, embedding_dimension"
                )
            )
        ).one()
        if same_model:
            self._require_same_model(row.embedding_model, row.embedding_dimension)
        return int(row.version)

    async def _copy_chunks(
        self,
        connection: AsyncConnection,
        chunks: Sequence[Chunk],
        scopes: Sequence[str],
        vectors: dict[str, Vectors],
    ) -> None:
        if not chunks:
            return
        await connection.execute(
            text("UPDATE corpus SET embedding_model = coalesce(embedding_model, :model)"),
            {"model": self._embedder.model},
        )
        model, scope_list = self._embedder.model, list(scopes)
        driver = await _driver_connection(connection)
        async with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY chunks ({CHUNK_COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(CHUNK_COPY_TYPES)
            for chunk in chunks:
                await copy.write_row(
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
                )

    def _connect(self) -> GuardedConnection:
        return GuardedConnection(self._engine, begin=False)

    def _transaction(self) -> GuardedConnection:
        return GuardedConnection(self._engine, begin=True)


async def _build_vector_index(connection: AsyncConnection) -> None:
    await connection.execute(
        text("SELECT set_config('maintenance_work_mem', :memory, true)"),
        {"memory": HNSW_BUILD_MEMORY},
    )
    await connection.execute(text(hnsw_index_ddl()))


def _stored_document(row: Any) -> StoredDocument:
    values = {name: row[name] for name in _DOCUMENT_FIELDS}
    return StoredDocument(**{**values, "scopes": tuple(row["scopes"])})


def _as_array(value: Any) -> Vectors:
    """A stored vector (pgvector's ``Vector``) as the float32 array the embedders produce."""
    raw = value.to_numpy() if hasattr(value, "to_numpy") else value
    return np.asarray(raw, dtype=np.float32)


async def _driver_connection(connection: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under a SQLAlchemy one, for COPY (same transaction)."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    return driver
