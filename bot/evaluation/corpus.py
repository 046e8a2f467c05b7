"""The evaluation's own knowledge base: a separate database holding exactly the set's corpus.

A production knowledge base is never touched. The database is named after the corpus and the
embedding model, so a second run over the same corpus re-embeds only what changed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import psycopg

from bot.core.knowledge_base import KnowledgeBase
from bot.evaluation.dataset import EvalSet
from bot.service.embedded import start_postgres
from bot.service.settings import Secret, Settings
from bot.service.wiring import build_embedder, open_engine, open_knowledge_base
from knowledge.chunking import document_id_for
from knowledge.database import ensure_database, migrate
from knowledge.ingest import IngestReport, ingest
from knowledge.loading.links import FORMS, file_link
from knowledge.samples import SAMPLE_DOCS


class EvalError(Exception):
    """The evaluation cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class EvalCorpus:
    """The loaded corpus: its knowledge base and which document id each corpus file became."""

    kb: KnowledgeBase
    settings: Settings
    document_ids: dict[str, str]  # corpus-relative path -> document id
    paths: dict[str, str]  # document id -> corpus-relative path
    chunks: int
    base_url: str = ""

    def resolve(self, reference: str) -> str:
        """The document id of a gold document given as a corpus path or as its link: the
        link it is stored under, or its link under the set's base URL in any link style (a
        set written before pretty links names ``.../leave.md``)."""
        path = reference.removeprefix("docs/")
        if path in self.document_ids:
            return self.document_ids[path]
        if document_id_for(reference) in self.paths:
            return document_id_for(reference)
        for corpus_path, document_id in self.document_ids.items():
            if self.base_url and any(
                file_link(self.base_url, PurePosixPath(corpus_path), form) == reference
                for form in FORMS
            ):
                return document_id
        raise EvalError(f"gold document {reference!r} is not in the corpus")


@asynccontextmanager
async def open_eval_corpus(
    settings: Settings, eval_set: EvalSet, progress: Callable[[IngestReport], object]
) -> AsyncIterator[EvalCorpus]:
    """The set's corpus loaded into the evaluation database, ready to search and answer."""
    if not await asyncio.to_thread(eval_set.corpus.is_dir):
        raise EvalError(f"{eval_set.corpus}: the corpus folder does not exist (use --corpus DIR)")
    embedder = build_embedder(settings)
    url = await _database_url(settings, eval_set.corpus, embedder.model)
    eval_settings = dataclasses.replace(settings, database_url=Secret(url))
    async with open_engine(eval_settings) as engine:
        await migrate(engine, embedding_dimension=embedder.dimension)
    async with open_knowledge_base(eval_settings, embedder=embedder) as kb:
        options = dataclasses.replace(kb.load_options, base_url=eval_set.base_url, scopes=None)
        document_ids: dict[str, str] = {}
        failures: list[str] = []
        async for report in ingest(
            [str(eval_set.corpus)], kb.store, load_options=options, chunking=kb.chunking
        ):
            progress(report)
            if report.result is not None:
                document_ids[_relative(report.source, eval_set.corpus)] = report.result.document_id
            elif not report.skipped:
                failures.append(f"{report.source}: {report.error}")
        if failures:
            raise EvalError(f"{len(failures)} corpus file(s) failed to load, first: {failures[0]}")
        kept = set(document_ids.values())
        for stored in await kb.store.list_documents():
            if stored.id not in kept:  # left from an earlier version of the corpus
                await kb.store.remove(stored.id)
        chunks = sum(d.chunk_count for d in await kb.store.list_documents())
        paths = {doc_id: path for path, doc_id in document_ids.items()}
        yield EvalCorpus(kb, eval_settings, document_ids, paths, chunks, eval_set.base_url)


def _relative(source: str, corpus: Path) -> str:
    return Path(source).resolve().relative_to(corpus.resolve()).as_posix()


async def _database_url(settings: Settings, corpus: Path, model: str) -> str:
    """SUPPORTBOT_EVAL_DATABASE_URL, or a database of its own on the configured server."""
    if settings.eval_database_url is not None:
        url = settings.eval_database_url.reveal()
        if settings.database_url is not None and url == settings.database_url.reveal():
            raise EvalError(
                "SUPPORTBOT_EVAL_DATABASE_URL is the production DATABASE_URL; "
                "give the evaluation a database of its own"
            )
        return url
    name = _database_name(corpus, model)
    if settings.database_url is not None:
        try:
            return await ensure_database(settings.database_url.reveal(), name)
        except psycopg.Error as e:
            raise EvalError(
                f"cannot create the evaluation database {name} ({e}); "
                "set SUPPORTBOT_EVAL_DATABASE_URL to a database the evaluation may fill"
            ) from e
    return await ensure_database(await start_postgres(settings.home), name)


def _database_name(corpus: Path, model: str) -> str:
    resolved = corpus.resolve()
    label = "sample" if resolved == SAMPLE_DOCS else resolved.parent.name or resolved.name
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:24]
    digest = hashlib.sha256(f"{resolved}\0{model}".encode()).hexdigest()[:8]
    return f"supportbot_eval_{slug}_{digest}"
