"""The document store: atomic add-or-replace, remove, list, reindex and the corpus version.

Every change runs in one transaction that first bumps the single ``corpus`` row. That row lock
serialises writers, and the new version number is what answer caches key on: a reader sees the
old document or the new one, never a mix, and never an old answer under a new version.

``PgDocumentStore`` decides what each change does and in which transaction; the SQL lives with
the rows it touches: ``corpus_row``, ``document_rows``, ``chunk_rows`` and ``vector_index``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from knowledge import chunk_rows, corpus_row, document_rows, sentence_rows, vector_index, versions
from knowledge.chunking import document_id_for, stored_hash
from knowledge.database import GuardedConnection
from knowledge.embedders import Embedder
from knowledge.errors import DocumentNotFoundError, MetadataError
from knowledge.link_records import PgLinkRecords
from knowledge.schema import CHUNKS_TABLE
from knowledge.types import (
    CLEARABLE,
    Chunk,
    CorpusState,
    Document,
    DocumentVersion,
    IngestResult,
    MetadataChange,
    StoredDocument,
)

ProgressCallback = Callable[[int], None]
K = TypeVar("K")


class PgDocumentStore:
    """Documents and their embedded chunks in Postgres with pgvector."""

    def __init__(self, engine: AsyncEngine, embedder: Embedder) -> None:
        self._engine = engine
        self._embedder = embedder
        self.links = PgLinkRecords(engine)

    async def corpus_version(self) -> int:
        """A number that changes with every change to the stored documents."""
        async with self._connect() as connection:
            return await corpus_row.read_version(connection)

    async def corpus_state(self) -> CorpusState:
        """This knowledge base's own id and version, for keys shared with other deployments."""
        async with self._connect() as connection:
            return await corpus_row.read_state(connection)

    async def check_embedder(self) -> None:
        """Refuse to mix vectors: the configured model must be the one the corpus was built with."""
        async with self._connect() as connection:
            model, dimension = await corpus_row.stored_model(connection)
        corpus_row.require_same_model(self._embedder, model, dimension)

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
                await vector_index.drop_vector_index(connection, if_exists=True)
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
            exists = await vector_index.vector_index_exists(connection)
        if exists:
            return
        async with self._transaction() as connection:
            await vector_index.build_vector_index(connection)

    async def upsert(self, document: Document, chunks: Sequence[Chunk]) -> IngestResult:
        """Add ``document`` or replace the stored version of it, atomically.

        Only chunks whose text is new are embedded; an unchanged document is not written at all.
        A file stored before under another link (``Document.origin``) is relinked: the old
        row is replaced by one under the new link (a document's id follows its link), and its
        vectors are reused.
        """
        doc_id = document_id_for(document.url)
        content_hash = stored_hash(document, chunks)
        model = self._embedder.model
        async with self._connect() as connection:
            existing = await document_rows.stored_content_hash(connection, doc_id)
            former: list[str] = []
            if existing is None and document.origin is not None:
                former = await document_rows.former_versions(
                    connection, doc_id, document.origin, document.former_urls
                )
            stored_models = await chunk_rows.chunk_models(connection, doc_id)
            if existing == content_hash and set(stored_models) <= {model}:
                version = (await connection.execute(text("SELECT version FROM corpus"))).scalar()
                return IngestResult(
                    doc_id, document.title, "unchanged", len(chunks), 0, int(version or 0),
                    len(document.sections),
                )  # fmt: skip
            known = await chunk_rows.known_vectors(
                connection, [c.content_hash for c in chunks], model
            )
            known_sentences = await sentence_rows.known_sentence_vectors(
                connection, [c.content_hash for c in chunks], model
            )

        missing = [c for c in chunks if c.content_hash not in known]
        unique = {c.content_hash: c.embedding_text for c in missing}
        sentences = sentence_rows.sentences_to_embed(chunks, known_sentences)
        if unique or sentences:
            # One call for the chunks and their sentences: the model batches them together.
            vectors = await self._embedder.embed([*unique.values(), *sentences.values()])
            known.update(zip(unique, vectors[: len(unique)], strict=True))
            known_sentences.update(zip(sentences, vectors[len(unique) :], strict=True))

        async with self._transaction() as connection:
            version = await corpus_row.bump_version(connection, self._embedder)
            for former_id in former:
                await document_rows.delete_document(connection, former_id)
            await document_rows.write_document(connection, doc_id, document, content_hash)
            await versions.record_version(connection, doc_id, document)
            await chunk_rows.delete_chunks(connection, doc_id)
            if chunks:
                await corpus_row.claim_model(connection, model)
                await chunk_rows.copy_chunks(connection, chunks, document.scopes, model, known)
                await sentence_rows.copy_sentences(connection, chunks, known_sentences)
            replaced = document.supersedes and await document_rows.replaced_document(
                connection, doc_id, document.supersedes
            )
        return IngestResult(
            doc_id,
            document.title,
            "relinked" if former else "updated" if existing is not None else "added",
            len(chunks),
            len(missing),
            version,
            len(document.sections),
            warning=(
                f"it supersedes {document.supersedes!r}, which is not stored"
                if document.supersedes and not replaced
                else None
            ),
        )

    async def set_metadata(self, reference: str, change: MetadataChange) -> StoredDocument:
        """Change a document's owner, dates, status or what it supersedes, for good: the change
        is kept apart from what the file says, so no later ingest of it undoes the change.

        Raises ``DocumentNotFoundError`` for an unknown document, and ``MetadataError`` when
        it would supersede a document that is not stored (or itself), or clear a field that
        cannot be empty (or is set at the same time).
        """
        document = await self.find(reference)
        for name in change.clear:
            if name not in CLEARABLE or getattr(change, name) is not None:
                raise MetadataError(
                    f"{name!r} cannot be cleared"
                    + ("" if name not in CLEARABLE else " and set at once")
                )
        if change.supersedes is not None:
            try:
                replaced = await self.find(change.supersedes)
            except DocumentNotFoundError as e:
                raise MetadataError(f"cannot supersede {change.supersedes!r}: {e}") from None
            if replaced.id == document.id:
                raise MetadataError(f"{document.title!r} cannot supersede itself")
            change = dataclasses.replace(change, supersedes=replaced.url)
        async with self._transaction() as connection:
            # What may be cited changes with a status, so cached answers must not outlive it.
            await corpus_row.bump_version(connection, self._embedder, same_model=False)
            await document_rows.set_overrides(connection, document.id, change)
        return await self.find(document.id)

    async def history(self, reference: str) -> tuple[StoredDocument, list[DocumentVersion]]:
        """The document ``reference`` names and its versions, newest first."""
        document = await self.find(reference)
        async with self._connect() as connection:
            return document, await versions.versions(connection, document.id)

    async def remove(self, reference: str) -> StoredDocument:
        """Remove the document whose id, canonical link or title is ``reference``."""
        document = await self.find(reference)
        async with self._transaction() as connection:
            await corpus_row.bump_version(connection, self._embedder, same_model=False)
            await document_rows.delete_document(connection, document.id)
        return document

    async def remove_documents(
        self,
        document_ids: Collection[str],
        along: Callable[[AsyncConnection], Awaitable[Any]] | None = None,
    ) -> None:
        """Remove ``document_ids`` (those still stored) in one transaction, with what ``along``
        writes in it: a source's records of them go with them, or nothing does."""
        async with self._transaction() as connection:
            if document_ids:
                await corpus_row.bump_version(connection, self._embedder, same_model=False)
                for document_id in document_ids:
                    await document_rows.delete_document(connection, document_id)
            if along is not None:
                await along(connection)

    async def find(self, reference: str) -> StoredDocument:
        """The one stored document whose id, canonical link or title (any case) is ``reference``."""
        async with self._connect() as connection:
            matches = await document_rows.documents_matching(connection, reference)
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
        async with self._connect() as connection:
            return await document_rows.all_documents(connection)

    async def scopes_of(self, document_ids: Collection[str]) -> dict[str, tuple[str, ...]]:
        """Who may see each of ``document_ids`` that is still stored (removed ones are absent)."""
        async with self._connect() as connection:
            return await document_rows.scopes_of(connection, document_ids)

    async def reindex(self, progress: ProgressCallback | None = None) -> int:
        """Re-embed every chunk and its sentences with the configured model (giving chunks
        stored before sentences were indexed theirs); returns how many chunks were embedded.

        When the new model's dimension differs, the vector column and its HNSW index are
        rebuilt for it in the same transaction, so searches see old vectors or new, never both.
        """
        async with self._connect() as connection:
            pending = await chunk_rows.texts_to_reembed(connection)
            sentences = await sentence_rows.sentences_of_chunks(connection)
        vectors = await self._embed_in_batches(pending, progress)
        sentence_vectors = await self._embed_in_batches({k: t for k, (_, t) in sentences.items()})

        model, dimension = self._embedder.model, self._embedder.dimension
        async with self._transaction() as connection:
            await corpus_row.bump_version(connection, self._embedder, same_model=False)
            # Chunks written while we were embedding are picked up here, under the lock.
            late = {
                h: t
                for h, t in (await chunk_rows.texts_to_reembed(connection)).items()
                if h not in vectors
            }
            vectors.update(await self._embed_in_batches(late, progress))
            sentences = await sentence_rows.sentences_of_chunks(connection)
            late_sentences = {k: t for k, (_, t) in sentences.items() if k not in sentence_vectors}
            sentence_vectors.update(await self._embed_in_batches(late_sentences))
            resized = await corpus_row.stored_dimension(connection) != dimension
            if resized:
                # The index is rebuilt once after the update rather than grown per row.
                await vector_index.drop_vector_index(connection)
                await vector_index.resize_vectors(connection, dimension)
            await chunk_rows.replace_vectors(connection, vectors, model)
            await sentence_rows.replace_sentence_vectors(connection, sentences, sentence_vectors)
            if resized:
                await vector_index.build_vector_index(connection)
            await corpus_row.record_model(connection, model, dimension)
        return len(vectors)

    async def _embed_in_batches(
        self, texts: dict[K, str], progress: ProgressCallback | None = None, batch: int = 256
    ) -> dict[K, Any]:
        hashes = list(texts)
        vectors: dict[K, Any] = {}
        for start in range(0, len(hashes), batch):
            part = hashes[start : start + batch]
            embedded = await self._embedder.embed([texts[h] for h in part])
            vectors.update(zip(part, embedded, strict=True))
            if progress:
                progress(len(part))
        return vectors

    def _connect(self) -> GuardedConnection:
        return GuardedConnection(self._engine, begin=False)

    def _transaction(self) -> GuardedConnection:
        return GuardedConnection(self._engine, begin=True)
