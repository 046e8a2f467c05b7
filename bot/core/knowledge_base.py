"""The knowledge base as the answering core and the feedback loop see it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.chunking import ChunkingOptions
from knowledge.embedders import Embedder
from knowledge.loading import LoadOptions
from knowledge.loading.guarded_fetch import GuardedFetcher
from knowledge.retrieval import PgHybridRetriever
from knowledge.store import PgDocumentStore


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything needed to ingest into and search the knowledge base.

    ``load_options`` is how the operator's command line loads sources; what people ask for in
    chat is downloaded by ``guarded_fetcher``, which refuses addresses inside the network.
    """

    engine: AsyncEngine
    embedder: Embedder
    store: PgDocumentStore
    retriever: PgHybridRetriever
    chunking: ChunkingOptions
    load_options: LoadOptions
    guarded_fetcher: GuardedFetcher
