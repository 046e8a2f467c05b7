"""The composition root: the one place where settings meet concrete classes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnsweringOptions, AnswerObserver, AnswerService
from bot.core.breaker import CircuitBreaker
from bot.core.cache import AnswerCache, RedisAnswerCache, redis_client
from bot.core.coverage import FITTED_FOR_MINILM, CoverageModel, MinimumSimilarity
from bot.core.knowledge_base import KnowledgeBase
from bot.core.prompts import Prompts
from bot.core.quoting import FITTED_FOR_MINILM as FITTED_QUOTING
from bot.loop.announcements import ChangeAnnouncer
from bot.loop.answer_records import RedisAnswerRecords
from bot.loop.curation import Curator
from bot.loop.examples import PgExampleStore
from bot.loop.gaps import PgGapQueue
from bot.loop.reviews import ReviewReminders
from bot.loop.stale_answers import StaleAnswerNotices
from bot.loop.subscriptions import PgSubscriptions
from bot.platforms.delivery import PlatformReporter
from bot.platforms.people import People
from bot.service.change_watch import ChangeWatch
from bot.service.chat_models import build_reranker, build_writer, change_summarizer
from bot.service.components import Core
from bot.service.embedded import EMBEDDED_DATABASE, EmbeddedRedis, start_postgres
from bot.service.jobs import IngestionJobs, JobOptions
from bot.service.lifecycle import WorkInProgress
from bot.service.metrics import Metrics
from bot.service.question_posts import PgQuestionPosts
from bot.service.questions import RedisQuestionLedger
from bot.service.safeguards import Safeguards, build_safeguards
from bot.service.settings import Settings
from bot.service.source_jobs import SourceJobs
from bot.service.source_wiring import source_manager
from bot.service.upload_jobs import UploadJobs
from bot.service.uploads import PgUploads
from bot.service.user_key import user_hash_key
from knowledge.announcements import PgChangeClaims
from knowledge.chunking import ChunkingOptions
from knowledge.database import create_engine, ensure_database, require_current_schema
from knowledge.embedders import (
    LOCAL_MODEL_NAME,
    Embedder,
    HashingEmbedder,
    LocalEmbedder,
    OpenAIEmbedder,
)
from knowledge.loading import LoadOptions, ParseLimits
from knowledge.loading.guarded_fetch import FetchPolicy, GuardedFetcher
from knowledge.ranking import FITTED_FOR_MINILM as FITTED_RANKING
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions
from knowledge.store import PgDocumentStore


def build_embedder(settings: Settings) -> Embedder:
    """The configured embedder; models load lazily, on first use."""
    if settings.embedder == "openai":
        return OpenAIEmbedder(
            settings.embedding_model or "",
            api_key=settings.openai_api_key.reveal() if settings.openai_api_key else None,
            base_url=settings.openai_base_url,
            dimension=settings.embedding_dimension,
        )
    if settings.embedder == "hashing":
        return HashingEmbedder(settings.embedding_dimension or 384)
    return LocalEmbedder(settings.embedding_model)


def load_options(settings: Settings) -> LoadOptions:
    limits = ParseLimits(
        seconds=settings.parse_timeout,
        memory_mb=settings.parse_memory_mb,
        pdf_max_pages=settings.max_pdf_pages,
    )
    return LoadOptions(
        max_bytes=settings.max_document_bytes, timeout=settings.fetch_timeout, limits=limits
    )


def guarded_fetcher(settings: Settings) -> GuardedFetcher:
    """What downloads the links and files people give the bot in chat."""
    return GuardedFetcher(
        FetchPolicy(
            allowed=settings.fetch_allowed,
            max_bytes=settings.max_document_bytes,
            deadline_seconds=settings.fetch_timeout,
        )
    )


async def database_url(settings: Settings) -> str:
    """``DATABASE_URL``, or the embedded Postgres's database (started if needed)."""
    if settings.database_url is not None:
        return settings.database_url.reveal()
    server = await start_postgres(settings.home)
    return await ensure_database(server, EMBEDDED_DATABASE)


async def redis_url(settings: Settings) -> tuple[str, EmbeddedRedis | None]:
    """``REDIS_URL``, or the embedded Redis (started if needed) and its handle."""
    if settings.redis_url is not None:
        return settings.redis_url.reveal(), None
    embedded = EmbeddedRedis(settings.home)
    return await embedded.start(), embedded


@asynccontextmanager
async def open_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await database_url(settings))
    try:
        yield engine
    finally:
        await engine.dispose()


def answer_version(settings: Settings, prompts: Prompts) -> str:
    """What besides the model decides an answer's wording and sources, for the cache key: the
    prompts and style, the fitted ranking, quoting and decline decision (shipped or set), and
    the reranker (it picks the sources)."""
    # A release that fits them again, or an operator who sets their own, must not be served
    # the answers cached before.
    fitted = (FITTED_RANKING, FITTED_QUOTING, FITTED_FOR_MINILM)
    chosen = (settings.ranking_model, settings.quoting_model, settings.decline_model)
    digest = hashlib.sha256(repr((fitted, chosen)).encode()).hexdigest()[:8]
    version = f"{prompts.version}+{digest}"
    return f"{version}+{settings.reranker}" if settings.reranker else version


def retrieval_options(settings: Settings, embedder: Embedder) -> RetrievalOptions:
    """The search's options; its candidates are ordered by the operator's fitted ranking if
    one is set, else by the one fitted for the bundled model when that is the model (another
    model's similarities mean something else), else by the fusion."""
    bundled = FITTED_RANKING if embedder.model == LOCAL_MODEL_NAME else None
    return RetrievalOptions(
        min_similarity=settings.min_similarity,
        rerank_candidates=settings.rerank_candidates,
        ranking=settings.ranking_model or bundled,
    )


def coverage_decision(settings: Settings, embedder: Embedder) -> CoverageModel | MinimumSimilarity:
    """How the flow decides a question is covered: the operator's threshold or fitted decision
    if one is set, else the decision fitted for the bundled model, else (another model) the
    usual threshold."""
    if settings.answer_min_similarity is not None:
        return MinimumSimilarity(settings.answer_min_similarity)
    if settings.decline_model is not None:
        return settings.decline_model
    if embedder.model == LOCAL_MODEL_NAME:
        return FITTED_FOR_MINILM
    return MinimumSimilarity()


def build_answer_service(
    settings: Settings,
    kb: KnowledgeBase,
    prompts: Prompts,
    cache: AnswerCache,
    metrics: Metrics | None = None,
    observer: AnswerObserver | None = None,
    hash_key: bytes | None = None,
    safeguards: Safeguards | None = None,
) -> AnswerService:
    """The answering core over ``kb`` with the configured writer and the given cache;
    ``hash_key`` keys the question hashes (default: ``user_hash_key(settings)``);
    ``safeguards`` for answering live (the evaluation wants to see the model fail)."""
    breaker = safeguards.breaker if safeguards else None
    return AnswerService(
        retriever=kb.retriever,
        store=kb.store,
        writer=build_writer(
            settings,
            prompts,
            breaker,
            degrade=safeguards is not None,
            embedding_model=kb.embedder.model,
        ),
        cache=cache,
        answer_log=PgAnswerLog(
            kb.engine, Prices(settings.prompt_price_per_1k, settings.completion_price_per_1k)
        ),
        options=AnsweringOptions(
            top_k=settings.top_k,
            coverage=coverage_decision(settings, kb.embedder),
            contact=settings.contact,
            max_question_chars=settings.max_question_chars,
            prompt_version=answer_version(settings, prompts),
            languages=settings.search_languages,
            hash_key=hash_key or user_hash_key(settings),
        ),
        metrics=metrics,
        observer=observer,
        limiter=safeguards.limiter if safeguards else None,
    )


@asynccontextmanager
async def open_core(settings: Settings, *, embedder: Embedder | None = None) -> AsyncIterator[Core]:
    """The answering core over the knowledge base, with its cache and answer log."""
    prompts = Prompts.load(settings.style_file)
    url, embedded_redis = await redis_url(settings)
    client = redis_client(url)
    safeguards = build_safeguards(settings, client)
    try:
        async with open_knowledge_base(
            settings, embedder=embedder, breaker=safeguards.breaker
        ) as kb:
            cache = RedisAnswerCache(client, settings.cache_ttl_seconds, settings.redis_namespace)
            metrics = Metrics()
            reporters = PlatformReporter()
            records = RedisAnswerRecords(
                client, settings.redis_namespace, int(settings.answer_memory_days * 86_400)
            )
            curator = Curator(
                kb=kb,
                records=records,
                gaps=PgGapQueue(kb.engine, similar=settings.gap_similarity),
                examples=PgExampleStore(kb.engine),
                reporter=reporters,
                top_k=settings.top_k,
            )
            people = People()
            hash_key = user_hash_key(settings)
            service = build_answer_service(
                settings, kb, prompts, cache, metrics, curator, hash_key, safeguards
            )
            jobs = IngestionJobs(
                kb.engine.url.render_as_string(hide_password=False),
                kb.engine,
                metrics,
                JobOptions(
                    workers=settings.job_workers,
                    stalled_seconds=settings.job_stalled_seconds,
                    shutdown_timeout=settings.shutdown_timeout,
                ),
            )
            sources = source_manager(settings, kb)
            try:
                yield Core(
                    answers=service,
                    kb=kb,
                    redis=client,
                    metrics=metrics,
                    jobs=jobs,
                    work=WorkInProgress(),
                    reporters=reporters,
                    curator=curator,
                    changes=ChangeWatch(
                        PgChangeClaims(kb.engine),
                        [
                            StaleAnswerNotices(records, service, kb.store, reporters),
                            ChangeAnnouncer(
                                PgSubscriptions(kb.engine),
                                reporters,
                                change_summarizer(settings, safeguards),
                            ),
                        ],
                        settings.change_poll_seconds,
                    ),
                    people=people,
                    reviews=ReviewReminders(kb.store, kb.engine, people, reporters),
                    user_hash_key=hash_key,
                    sources=sources,
                    source_jobs=SourceJobs(jobs, sources, metrics),
                    uploads=UploadJobs(
                        jobs, PgUploads(kb.engine), metrics, settings.max_document_bytes
                    ),
                    questions=RedisQuestionLedger(
                        client,
                        settings.redis_namespace,
                        settings.question_lease_seconds,
                        PgQuestionPosts(kb.engine),
                    ),
                )
            finally:
                await jobs.close()
    finally:
        await client.aclose()
        if embedded_redis is not None:
            embedded_redis.stop()


@asynccontextmanager
async def open_knowledge_base(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    check_model: bool = True,
    breaker: CircuitBreaker | None = None,
) -> AsyncIterator[KnowledgeBase]:
    """The knowledge base on a database whose schema is current.

    ``check_model=False`` is for ``reindex``, which exists to change the model; ``breaker``
    guards an LLM reranker's calls when answering live.
    """
    embedder = embedder or build_embedder(settings)
    async with open_engine(settings) as engine:
        await require_current_schema(engine)
        store = PgDocumentStore(engine, embedder)
        await store.ensure_vector_index()
        if check_model:
            # A model of the operator's learns its dimension by loading: off the event loop.
            await asyncio.to_thread(lambda: embedder.dimension)
            await store.check_embedder()
        yield KnowledgeBase(
            engine=engine,
            embedder=embedder,
            store=store,
            retriever=PgHybridRetriever(
                engine,
                embedder,
                retrieval_options(settings, embedder),
                build_reranker(settings, breaker),
            ),
            chunking=ChunkingOptions(settings.chunk_size, settings.chunk_overlap),
            load_options=load_options(settings),
            guarded_fetcher=guarded_fetcher(settings),
        )
