"""The store against a real Postgres with pgvector: migrations, atomic writes, versions."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.chunking import ChunkingOptions, chunk_document
from knowledge.database import (
    create_engine,
    current_revision,
    head_revision,
    migrate,
    require_current_schema,
)
from knowledge.embedders import HashingEmbedder
from knowledge.errors import (
    DatabaseUnavailableError,
    DocumentNotFoundError,
    EmbeddingModelMismatchError,
    SchemaOutdatedError,
)
from knowledge.retrieval import PgHybridRetriever
from knowledge.store import PgDocumentStore
from knowledge.types import Query
from tests.documents import policy


async def test_migrations_build_the_schema_from_an_empty_database(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        with pytest.raises(SchemaOutdatedError, match="supportbot migrate"):
            await require_current_schema(engine)
        before, after = await migrate(engine, embedding_dimension=384)
        assert (before, after) == (None, head_revision())
        assert await current_revision(engine) == head_revision()
        await require_current_schema(engine)
        async with engine.connect() as connection:
            tables = set(
                (
                    await connection.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                ).scalars()
            )
            index_rows = await connection.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'chunks'")
            )
            indexes = {row.indexname: row.indexdef for row in index_rows}
            extension = (
                await connection.execute(text("SELECT 1 FROM pg_extension WHERE extname='vector'"))
            ).scalar()
        assert {"corpus", "documents", "chunks", "alembic_version"} <= tables
        assert extension == 1
        assert "USING hnsw (embedding vector_cosine_ops)" in indexes["chunks_embedding_hnsw"]
        assert "USING gin (tsv)" in indexes["chunks_tsv_gin"]
        # Migrating again is a no-op.
        assert await migrate(engine, embedding_dimension=384) == (head_revision(), head_revision())
    finally:
        await engine.dispose()


async def test_add_then_unchanged_reingest_does_no_embedding(
    store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    document = policy()
    first = await store.upsert(document, chunk_document(document))
    assert first.status == "added"
    assert first.embedded_count == 2
    calls = embedder.calls

    again = await store.upsert(document, chunk_document(document))
    assert again.status == "unchanged"
    assert again.embedded_count == 0
    assert embedder.calls == calls
    assert again.corpus_version == first.corpus_version


async def test_update_embeds_only_changed_chunks_and_bumps_versions(
    store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    original = policy()
    await store.upsert(original, chunk_document(original))
    version = await store.corpus_version()
    changed = policy(
        sections={
            "Annual leave": "Everyone gets 25 days of annual leave plus public holidays.",
            "Sick leave": "Tell your manager before 9am on the first day you are ill.",
        }
    )
    texts_before = embedder.texts_embedded
    result = await store.upsert(changed, chunk_document(changed))
    assert result.status == "updated"
    assert result.embedded_count == 1
    # The changed chunk and its one sentence; the unchanged chunk's vectors are reused.
    assert embedder.texts_embedded - texts_before == 2
    assert result.corpus_version == version + 1
    [stored] = await store.list_documents()
    assert stored.version == 2
    assert stored.chunk_count == 2


async def test_remove_by_id_link_or_title(store: PgDocumentStore) -> None:
    for number in range(3):
        document = policy(url=f"https://handbook.test/{number}", title=f"Policy {number}")
        await store.upsert(document, chunk_document(document))
    documents = await store.list_documents()
    version = await store.corpus_version()

    removed = await store.remove(documents[0].id)
    assert removed.title == "Policy 0"
    assert (await store.remove("https://handbook.test/1")).title == "Policy 1"
    assert (await store.remove("policy 2")).title == "Policy 2"
    assert await store.list_documents() == []
    assert await store.corpus_version() == version + 3
    with pytest.raises(DocumentNotFoundError, match="no document with id, link or title"):
        await store.remove("Policy 2")


async def test_removed_document_leaves_no_chunks(
    store: PgDocumentStore, engine: AsyncEngine
) -> None:
    document = policy()
    await store.upsert(document, chunk_document(document))
    await store.remove(document.title)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM chunks"))).scalar() == 0


async def test_replace_is_atomic_for_a_concurrent_reader(
    store: PgDocumentStore, engine: AsyncEngine
) -> None:
    def version_of(marker: str) -> object:
        sections = {f"Part {n}": f"{marker} text of part {n}. " * 20 for n in range(30)}
        return policy(sections=sections)

    versions = [version_of("alpha"), version_of("beta")]
    first = versions[0]
    await store.upsert(first, chunk_document(first))  # type: ignore[arg-type]
    seen: list[set[str]] = []
    done = asyncio.Event()

    async def read() -> None:
        reader = create_engine(str(engine.url.render_as_string(hide_password=False)))
        try:
            while not done.is_set():
                async with reader.connect() as connection:
                    rows = (await connection.execute(text("SELECT text FROM chunks"))).scalars()
                    seen.append({row.split()[0] for row in rows})
        finally:
            await reader.dispose()

    reading = asyncio.create_task(read())
    for round_number in range(20):
        document = versions[(round_number + 1) % 2]
        await store.upsert(document, chunk_document(document))  # type: ignore[arg-type]
        await asyncio.sleep(0)
    done.set()
    await reading
    assert len(seen) > 5
    assert all(markers in ({"alpha"}, {"beta"}) for markers in seen), seen


async def test_a_different_embedding_model_is_refused_until_reindex(
    engine: AsyncEngine, store: PgDocumentStore
) -> None:
    document = policy()
    await store.upsert(document, chunk_document(document))

    bigger = PgDocumentStore(engine, HashingEmbedder(64))
    with pytest.raises(EmbeddingModelMismatchError, match="supportbot reindex"):
        await bigger.check_embedder()
    with pytest.raises(EmbeddingModelMismatchError):
        await bigger.upsert(document, chunk_document(document))

    assert await bigger.reindex() == 2
    await bigger.check_embedder()
    retriever = PgHybridRetriever(engine, HashingEmbedder(64))
    hits = await retriever.search(Query("how many days of annual leave"))
    assert hits[0].section == "Annual leave"
    # The sentences were embedded again too: the search scored them with the new model.
    assert hits[0].sentences and hits[0].sentences[0].similarity > 0.3
    async with engine.connect() as connection:
        sizes = await connection.execute(
            text("SELECT DISTINCT vector_dims(embedding) FROM sentences")
        )
        assert sizes.scalars().all() == [64]
    with pytest.raises(EmbeddingModelMismatchError):
        await store.check_embedder()


async def test_reindex_gives_chunks_stored_before_sentences_existed_their_sentences(
    engine: AsyncEngine, store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    document = policy()
    await store.upsert(document, chunk_document(document))
    async with engine.begin() as connection:
        expected = (await connection.execute(text("SELECT count(*) FROM sentences"))).scalar()
        await connection.execute(text("DELETE FROM sentences"))  # as stored before 0007

    await store.reindex()
    async with engine.connect() as connection:
        rows = (
            await connection.execute(text("SELECT chunk_id, position, text FROM sentences"))
        ).all()
    assert expected and len(rows) == expected
    assert {row.text for row in rows} == {
        "Everyone gets 25 days of annual leave plus public holidays.",
        "Tell your manager before 10am on the first day you are ill.",
    }
    hits = await PgHybridRetriever(engine, embedder).search(Query("how many days of annual leave"))
    assert hits[0].sentences, "the search scores the new sentences"


async def test_sentences_are_stored_with_their_chunk_and_removed_with_it(
    engine: AsyncEngine, store: PgDocumentStore
) -> None:
    document = policy(
        sections={
            "Annual leave": "Everyone gets 25 days of annual leave. Book it in the HR tool.\n\n"
            "- Carry over up to five days into next year",
            "Sick leave": "Ill? Tell your manager.",  # too short to be a sentence of its own
        }
    )
    await store.upsert(document, chunk_document(document))
    query = "SELECT text FROM sentences ORDER BY chunk_id, position"
    async with engine.connect() as connection:
        stored = (await connection.execute(text(query))).scalars().all()
    assert stored == [
        "Everyone gets 25 days of annual leave.",
        "Book it in the HR tool.",
        "Carry over up to five days into next year",
    ]
    await store.remove(document.url)
    async with engine.connect() as connection:
        assert (await connection.execute(text(query))).scalars().all() == []


async def test_chunking_options_change_the_chunks(store: PgDocumentStore) -> None:
    document = policy(sections={"Long": "A sentence about leave. " * 200})
    small = chunk_document(document, ChunkingOptions(size=300, overlap=50))
    result = await store.upsert(document, small)
    assert result.chunk_count == len(small) > 10


async def test_database_down_is_one_clear_line() -> None:
    engine = create_engine("postgresql://nobody@127.0.0.1:9/nothing")
    try:
        store = PgDocumentStore(engine, HashingEmbedder())
        with pytest.raises(DatabaseUnavailableError) as caught:
            await store.list_documents()
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith("cannot use the database at postgresql+psycopg://nobody@")
    finally:
        await engine.dispose()


async def vector_index_exists(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        found = await connection.execute(
            text("SELECT 1 FROM pg_indexes WHERE indexname = 'chunks_embedding_hnsw'")
        )
        return found.scalar() == 1


async def test_bulk_load_into_an_empty_corpus_builds_the_index_once(
    store: PgDocumentStore, engine: AsyncEngine
) -> None:
    async with store.bulk_load():
        assert not await vector_index_exists(engine)
        for number in range(3):
            document = policy(url=f"https://handbook.test/{number}")
            await store.upsert(document, chunk_document(document))
    assert await vector_index_exists(engine)
    async with store.bulk_load():  # not empty any more: the index stays
        assert await vector_index_exists(engine)


async def test_an_interrupted_bulk_load_gets_its_index_back(
    store: PgDocumentStore, engine: AsyncEngine
) -> None:
    with pytest.raises(RuntimeError):
        async with store.bulk_load():
            raise RuntimeError("killed")
    assert await vector_index_exists(engine)
    async with engine.begin() as connection:  # as if the process died mid-load
        await connection.execute(text("DROP INDEX chunks_embedding_hnsw"))
    await store.ensure_vector_index()
    assert await vector_index_exists(engine)
