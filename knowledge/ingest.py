"""Ingestion: load sources, chunk them and store them, one document at a time."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.chunking import ChunkingOptions, chunk_document
from knowledge.errors import LoadError
from knowledge.loading import LoadOptions, RawSource, load
from knowledge.loading.links import DEFAULT_LINK_STYLE
from knowledge.loading.sources import is_url
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

    A folder is linked in ``load_options.link_style`` when that is given, else in the style
    it was last ingested with, else the default; the style used is remembered for the next.
    A failing file is reported and the rest go on. Errors that stop every document alike (the
    database is down, the embedder is missing) are raised instead.
    """
    options = load_options or LoadOptions()
    async with store.bulk_load():
        for target in targets:
            folder = await _folder(target)
            target_options = options
            if folder is not None:
                style = options.link_style or await store.links.folder_style(folder)
                target_options = dataclasses.replace(
                    options, link_style=style or DEFAULT_LINK_STYLE
                )
            async for outcome in load([target], target_options):
                if outcome.document is None:
                    error = outcome.error or LoadError(outcome.source, "could not be loaded")
                    yield IngestReport(outcome.source, error=str(error), skipped=outcome.skipped)
                    continue
                chunks = chunk_document(outcome.document, chunking)
                result = await store.upsert(outcome.document, chunks)
                yield IngestReport(outcome.source, result=result)
            if folder is not None and target_options.link_style is not None:
                await store.links.remember_folder_style(folder, target_options.link_style)


async def _folder(target: str | RawSource) -> str | None:
    """The absolute path of ``target`` if it is a folder on this machine."""
    if isinstance(target, RawSource) or is_url(target):
        return None
    path = Path(target)
    if not await asyncio.to_thread(path.is_dir):
        return None
    return str(await asyncio.to_thread(path.resolve))
