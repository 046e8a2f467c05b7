"""Ingestion: load sources, chunk them and store them, one document at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from knowledge.chunking import ChunkingOptions, chunk_document
from knowledge.errors import LoadError
from knowledge.loading import LoadOptions, RawSource, load
from knowledge.store import PgDocumentStore
from knowledge.types import IngestResult


@dataclass(frozen=True)
class IngestReport:
    """What happened to one source: stored (``result``), failed (``error``) or skipped."""

    source: str
    result: IngestResult | None = None
    error: str | None = None
    skipped: bool = False


async def ingest(
    targets: Sequence[str | RawSource],
    store: PgDocumentStore,
    *,
    load_options: LoadOptions | None = None,
    chunking: ChunkingOptions | None = None,
) -> AsyncIterator[IngestReport]:
    """Store every document found in ``targets``; one report per file or URL, in order.

    A failing file is reported and the rest go on. Errors that stop every document alike (the
    database is down, the embedder is missing) are raised instead.
    """
    async with store.bulk_load():
        async for outcome in load(targets, load_options):
            if outcome.document is None:
                error = outcome.error or LoadError(outcome.source, "could not be loaded")
                yield IngestReport(outcome.source, error=str(error), skipped=outcome.skipped)
                continue
            chunks = chunk_document(outcome.document, chunking)
            result = await store.upsert(outcome.document, chunks)
            yield IngestReport(outcome.source, result=result)
