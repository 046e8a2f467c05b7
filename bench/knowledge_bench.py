"""Benchmark of the knowledge base's database path: ingestion, hybrid query latency and size.

What it measures, on a fresh database (an embedded Postgres 16 + pgvector in a temporary
directory, or a new ``bench_<random>`` database on the server given with ``--database-url``):

1. Ingestion throughput of ``PgDocumentStore.upsert`` in chunks/s, with vectors computed
   *before* the timed section (``HashingEmbedder`` output served from a dict), so only the
   database writes are timed: COPY, the generated tsvector column, the B-tree, GIN and HNSW
   indexes, and the per-document statements and commit.
2. End-to-end ingestion throughput with the real local model (all-MiniLM-L6-v2 on the CPU):
   chunking, embedding and database writes (skipped with ``--skip-model``).
3. Latency of the hybrid query (``PgHybridRetriever.search``, with query vectors computed
   beforehand and served from a dict) at each corpus size, and whether its plan uses the HNSW
   index; then the latency of each of its two sides alone, of other ``text_match_budget``
   values, and of a reference full-text search over all the question's words
   (``--no-components`` skips these).
4. Peak RSS of this process and the on-disk size of the chunks table and its indexes, and
   how long building the HNSW index from scratch takes at that size.

Sizes are built incrementally: ingest up to the first size, measure, ingest up to the next.
The corpus is synthetic but deterministic (seeded): policy-like sentences drawn from a
2,000-word vocabulary with a Zipf distribution, 600-900 characters per chunk, 50 chunks per
document. ``--breakdown ROWS`` (default 10,000; 0 skips it) times COPY of the same rows into
tables with more and more of the chunks schema, a bulk load (index built afterwards), and the
same documents through ``PgDocumentStore.upsert`` with and without the HNSW index, to show
where ingestion time goes. ``--server-shared-buffers`` restarts the embedded server with a
larger buffer cache.

Run from the repository root (``bench/README.md`` has the figures and what they mean)::

    .venv/bin/python bench/knowledge_bench.py
    .venv/bin/python bench/knowledge_bench.py --sizes 10000 --queries 100 --skip-model --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import psycopg.sql
from pgvector.psycopg import register_vector_async
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.service.embedded import start_postgres
from knowledge.chunk_rows import CHUNK_COPY_COLUMNS, CHUNK_COPY_TYPES
from knowledge.chunking import chunk_document
from knowledge.database import create_engine, ensure_database, migrate
from knowledge.embedders import HashingEmbedder, LocalEmbedder, Vectors
from knowledge.retrieval import _HYBRID_QUERY, PgHybridRetriever, RetrievalOptions
from knowledge.schema import HNSW_INDEX, TEXT_SEARCH_CONFIG, hnsw_index_ddl
from knowledge.store import PgDocumentStore
from knowledge.types import PUBLIC_SCOPE, Chunk, Document, Query, Section

DIMENSION = 384
CHUNKS_PER_DOCUMENT = 50
GIN_INDEX = "chunks_tsv_gin"
INGEST_TARGET = 10_000  # chunks/s
P95_TARGET_MS = 15.0

# --------------------------------------------------------------------------------------------
# Synthetic corpus
# --------------------------------------------------------------------------------------------

# Real policy vocabulary, roughly most to least common (the order is the Zipf rank);
# pronounceable pseudo-words (system, form and place names) fill it up to 2,000 words.
_POLICY_TEXT = """
employee manager policy request day leave time work company approval team pay expense
report hour week month year office travel benefit salary contract training holiday form
process record system access account data information security health safety insurance
claim receipt card booking flight hotel meal allowance limit amount budget cost payment
invoice purchase order supplier vendor equipment laptop phone device software license
password email network remote home site location building desk meeting room visitor
badge parking vehicle mileage fuel rate tax deduction pension retirement plan contribution
bonus commission overtime shift schedule rota absence sickness illness doctor certificate
medical dental vision wellbeing support assistance counselling parental maternity paternity
adoption childcare carer family bereavement compassionate jury duty military sabbatical
unpaid paid annual accrual balance carryover entitlement notice period probation review
performance objective goal feedback appraisal promotion grade band level role position
vacancy recruitment candidate interview offer onboarding induction orientation checklist
handbook guideline procedure standard rule requirement exception escalation complaint
grievance disciplinary investigation hearing appeal outcome warning dismissal termination
resignation redundancy severance reference exit equality diversity inclusion harassment
bullying discrimination conduct ethics conflict interest gift hospitality bribery fraud
whistleblowing confidentiality privacy consent retention deletion breach incident risk
audit compliance regulation law legal counsel contractor consultant agency temporary
permanent fulltime parttime flexible hybrid compressed hours timesheet clock director
executive department division region country headquarters branch store warehouse customer
client partner service ticket helpdesk portal intranet tool application update install
upgrade backup restore encryption authentication token key lock alarm fire evacuation
emergency first aid accident injury hazard assessment protective clothing ergonomic chair
monitor keyboard headset mobile stipend reimbursement advance currency exchange statement
reconciliation deadline submission workflow signature authority threshold delegation
finance payroll accountant controller treasury procurement tender quote renewal clause
liability indemnity warranty asset inventory disposal recycling sustainability carbon rail
taxi rental car economy business class itinerary visa passport immigration relocation
housing transfer secondment assignment international domestic local national public
calendar observance religious cultural volunteer charity donation matching learning
development course certification tuition mentoring coaching career path succession talent
skill competency knowledge sharing documentation wiki library archive submit approve reject
complete notify inform contact escalate retain delete share protect encrypt verify confirm
attend book cancel reschedule reimburse deduct calculate accrue carry apply qualify
eligible required mandatory optional additional maximum minimum monthly weekly daily
quarterly new existing current previous next final senior junior direct indirect internal
external written verbal formal informal prior reasonable appropriate relevant approved
authorised registered certified accredited
"""

_FUNCTION_TEXT = """
the the the of of to to and and a a in for for must may should will be is are with on by
within from at as any all each your their our this that or not before after under per
"""

_SYLLABLE_TEXT = """
ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga ge gi go ka ke ki ko la le li lo
lu ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si so ta te ti to tu va ve
vi vo za ze zo tra tre tri pro pla ble cla cre dra fra gra ster lin mar tor ven dex rix lan
"""

_QUESTION_OPENINGS = (
    "how do I",
    "what is the",
    "can I",
    "who approves",
    "when must I",
    "where do I find",
    "is there a",
    "how many",
    "",
    "",
)
_UNITS = ("days", "hours", "weeks", "working days", "months")


def _split(words: str) -> list[str]:
    return words.split()


def build_vocabulary(size: int, seed: int) -> list[str]:
    """Real policy words first (the common ones), then pronounceable pseudo-words."""
    words = list(dict.fromkeys(_split(_POLICY_TEXT)))
    seen = set(words) | set(_split(_FUNCTION_TEXT))
    syllables = _split(_SYLLABLE_TEXT)
    rng = np.random.default_rng(seed)
    while len(words) < size:
        count = int(rng.integers(2, 5))
        word = "".join(syllables[int(i)] for i in rng.integers(0, len(syllables), count))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words[:size]


class SyntheticCorpus:
    """Deterministic policy-like documents and questions drawn from one Zipf vocabulary."""

    def __init__(self, seed: int, vocabulary_size: int = 2000, exponent: float = 1.07) -> None:
        self.vocabulary = build_vocabulary(vocabulary_size, seed)
        weights = 1.0 / np.arange(1, len(self.vocabulary) + 1) ** exponent
        self._probabilities = weights / weights.sum()
        self._function_words = _split(_FUNCTION_TEXT)
        # numpy draws the Zipf words in blocks; Python's RNG makes the cheap scalar choices.
        self._numpy = np.random.default_rng(seed + 1)
        self._random = random.Random(seed + 1)
        self._pool: list[str] = []
        self._next = 0
        self._documents = 0

    def _words(self, count: int) -> list[str]:
        if self._next + count > len(self._pool):
            drawn = self._numpy.choice(len(self.vocabulary), 500_000, p=self._probabilities)
            self._pool = self._pool[self._next :] + [self.vocabulary[i] for i in drawn]
            self._next = 0
        self._next += count
        return self._pool[self._next - count : self._next]

    def sentence(self) -> str:
        tokens: list[str] = []
        for word in self._words(self._random.randint(6, 16)):
            if self._random.random() < 0.4:
                tokens.append(self._random.choice(self._function_words))
            tokens.append(word)
        if self._random.random() < 0.2:
            tokens += ["within", str(self._random.randint(1, 90)), self._random.choice(_UNITS)]
        return " ".join(tokens).capitalize() + "."

    def passage(self, low: int = 600, high: int = 900) -> str:
        """Sentences, in one or two paragraphs, between ``low`` and ``high`` characters."""
        target = self._random.randint(low, high)
        text = ""
        while len(text) < target:
            sentence = self.sentence()
            separator = "\n\n" if text and self._random.random() < 0.15 else " "
            candidate = f"{text}{separator}{sentence}" if text else sentence
            if len(candidate) > high:
                if len(text) >= low:
                    break
                continue
            text = candidate
        return text

    def heading(self) -> str:
        return " ".join(self._words(self._random.randint(2, 4))).title()

    def document(self, sections: int) -> Document:
        """A policy with ``sections`` sections, each short enough to be one chunk."""
        number = self._documents
        self._documents += 1
        title = f"{self.heading()} Policy {number}"
        return Document(
            title=title,
            url=f"https://intranet.example.com/policies/{number:07d}",
            source=f"bench/policy-{number:07d}.md",
            format="markdown",
            owner="people-team@example.com",
            sections=tuple(
                Section((title, self.heading()), self.passage(), f"#section-{i}")
                for i in range(sections)
            ),
        )

    def documents(self, chunks: int, per_document: int) -> list[tuple[Document, list[Chunk]]]:
        """Documents totalling ``chunks`` chunks, chunked with the default options."""
        out: list[tuple[Document, list[Chunk]]] = []
        remaining = chunks
        while remaining > 0:
            document = self.document(min(per_document, remaining))
            pieces = chunk_document(document)
            out.append((document, pieces))
            remaining -= len(pieces)
        return out

    def questions(self, count: int, seed: int) -> list[str]:
        """Questions of 3-10 words: an optional opening, then vocabulary words."""
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(count):
            opening = _QUESTION_OPENINGS[int(rng.integers(0, len(_QUESTION_OPENINGS)))]
            length = int(rng.integers(3, 11))
            content = max(1, length - len(opening.split()))
            picks = rng.choice(len(self.vocabulary), content, p=self._probabilities)
            words = [self.vocabulary[int(i)] for i in picks]
            out.append(" ".join([opening, *words]).strip() + ("?" if opening else ""))
        return out


# --------------------------------------------------------------------------------------------
# Embedders used by the benchmark
# --------------------------------------------------------------------------------------------


class PrecomputedEmbedder:
    """Serves vectors computed before the timed section, keyed by the embedded text."""

    def __init__(self, model: str, dimension: int, vectors: dict[str, Vectors]) -> None:
        self._model = model
        self._dimension = dimension
        self._vectors = vectors

    @property
    def model(self) -> str:
        return self._model

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


class TimedEmbedder:
    """Wraps an embedder and adds up the wall time spent embedding."""

    def __init__(self, inner: LocalEmbedder) -> None:
        self._inner = inner
        self.seconds = 0.0
        self.texts = 0

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    async def embed(self, texts: Sequence[str]) -> Vectors:
        started = time.perf_counter()
        try:
            return await self._inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.texts += len(texts)


async def precompute(texts: Sequence[str], batch: int = 2048) -> dict[str, Vectors]:
    """``HashingEmbedder`` vectors for ``texts``, keyed by text."""
    embedder = HashingEmbedder(DIMENSION)
    vectors: dict[str, Vectors] = {}
    for start in range(0, len(texts), batch):
        part = texts[start : start + batch]
        vectors.update(zip(part, await embedder.embed(part), strict=True))
    return vectors


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class IngestFigures:
    chunks: int
    documents: int
    seconds: float
    chunks_per_second: float
    document_p50_ms: float
    document_p95_ms: float


@dataclass
class LatencyFigures:
    queries: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    mean_rows: float
    # Mean share of the shipped hybrid query's results that this variant also returns.
    overlap: float | None = None


@dataclass
class PlanFigures:
    question: str
    uses_hnsw: bool
    generic_uses_hnsw: bool | None
    relevant_lines: list[str]
    generic_relevant_lines: list[str]
    full_plan: list[str]


@dataclass
class SizeFigures:
    chunks: int
    ingest: IngestFigures
    latency: LatencyFigures
    mean_text_matches: float
    plan: PlanFigures
    components: dict[str, LatencyFigures]
    relation_bytes: dict[str, int]
    hnsw_build_seconds: float | None
    peak_rss_mb: float


@dataclass
class ModelFigures:
    chunks: int
    model_load_seconds: float
    seconds: float
    chunks_per_second: float
    embedding_seconds: float
    embedding_chunks_per_second: float
    database_seconds: float


@dataclass
class BreakdownStep:
    name: str
    rows: int
    seconds: float
    rows_per_second: float
    client_cpu_seconds: float
    server_cpu_seconds: float | None


@dataclass
class Report:
    date: str
    server: str
    settings: dict[str, str]
    sizes: list[SizeFigures] = field(default_factory=list)
    breakdown: list[BreakdownStep] = field(default_factory=list)
    model: ModelFigures | None = None
    peak_rss_mb: float = 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def latency_figures(timings_ms: Sequence[float], rows: Sequence[int]) -> LatencyFigures:
    return LatencyFigures(
        queries=len(timings_ms),
        p50_ms=percentile(timings_ms, 50),
        p95_ms=percentile(timings_ms, 95),
        p99_ms=percentile(timings_ms, 99),
        mean_ms=statistics.fmean(timings_ms),
        max_ms=max(timings_ms),
        mean_rows=statistics.fmean(rows),
    )


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a local process, or None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# Database lifecycle
# --------------------------------------------------------------------------------------------


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class EmbeddedTuning:
    """Changes to the embedded server for experiments; the defaults are the shipped setup."""

    shared_buffers: str | None = None  # e.g. "512MB"; needs a restart

    def describe(self) -> dict[str, str]:
        if self.shared_buffers is None:
            return {}
        return {"shared_buffers set by the bench": self.shared_buffers}


@contextlib.asynccontextmanager
async def bench_server(database_url: str | None, tuning: EmbeddedTuning) -> AsyncIterator[str]:
    """The given server, or an embedded Postgres in a temporary directory (removed after)."""
    if database_url:
        yield database_url
        return
    home = Path(tempfile.mkdtemp(prefix="knowledge-bench-"))
    data = home / "postgres"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        import pgserver._commands
        from pgserver.postgres_server import get_server
    # pgserver defines its command wrappers at import time, so type checkers cannot see them.
    pg_ctl: Callable[..., str] = vars(pgserver._commands)["pg_ctl"]
    try:
        log(f"starting the embedded Postgres in {home}")
        url = await start_postgres(home)
        if tuning.shared_buffers is not None:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
                await admin.execute(
                    psycopg.sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(
                        psycopg.sql.Literal(tuning.shared_buffers)
                    )
                )
            # pg_ctl restart reuses the start options (socket directory), so the URL holds.
            user = get_server(data).system_user
            await asyncio.to_thread(
                pg_ctl, ["-w", "-l", str(data / "log"), "restart"], pgdata=data, user=user
            )
        yield url
    finally:
        if tuning.shared_buffers is not None:
            # pgserver only stops the server process it started, not the restarted one.
            with contextlib.suppress(Exception):
                user = get_server(data).system_user
                await asyncio.to_thread(pg_ctl, ["-w", "stop"], pgdata=data, user=user)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(get_server(data).cleanup)
        shutil.rmtree(home, ignore_errors=True)


@contextlib.asynccontextmanager
async def fresh_database(server_url: str, name: str) -> AsyncIterator[AsyncEngine]:
    """A new, migrated database ``name`` on the server; dropped afterwards."""
    url = await ensure_database(server_url, name)
    try:
        # Migrate on a throwaway engine: a pooled connection opened before the extension
        # existed would lack the vector type that COPY needs.
        migrator = create_engine(url, pool_size=1)
        try:
            await migrate(migrator, embedding_dimension=DIMENSION)
        finally:
            await migrator.dispose()
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()
    finally:
        async with await psycopg.AsyncConnection.connect(
            _libpq_url(server_url), autocommit=True
        ) as admin:
            await admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


async def server_settings(engine: AsyncEngine) -> tuple[str, dict[str, str]]:
    names = [
        "shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size",
        "synchronous_commit", "fsync", "max_parallel_maintenance_workers", "jit",
    ]  # fmt: skip
    async with engine.connect() as connection:
        version = (await connection.execute(text("SELECT version()"))).scalar_one()
        vector = (
            await connection.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            )
        ).scalar_one()
        rows = await connection.execute(
            text(
                "SELECT name, current_setting(name) AS value FROM pg_settings "
                "WHERE name = ANY(:names)"
            ),
            {"names": names},
        )
        settings = {row.name: row.value for row in rows}
    return f"{version.split(' on ')[0]}, pgvector {vector}", settings


async def relation_sizes(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    f"""
                    SELECT pg_total_relation_size('chunks') AS chunks_total,
                           pg_relation_size('chunks') AS chunks_heap,
                           pg_table_size('chunks') - pg_relation_size('chunks')
                               AS chunks_toast,
                           pg_indexes_size('chunks') AS chunks_indexes,
                           pg_relation_size('{HNSW_INDEX}') AS hnsw_index,
                           pg_relation_size('{GIN_INDEX}') AS gin_index,
                           pg_total_relation_size('documents') AS documents_total,
                           pg_database_size(current_database()) AS database
                    """
                )
            )
        ).one()
    return {key: int(value) for key, value in row._mapping.items()}


@contextlib.asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[Any]:
    async with engine.connect() as connection:
        yield await connection.execution_options(isolation_level="AUTOCOMMIT")


async def vacuum_analyze(engine: AsyncEngine) -> None:
    async with autocommit(engine) as connection:
        await connection.execute(text("VACUUM (ANALYZE) chunks"))
        await connection.execute(text("VACUUM (ANALYZE) documents"))


async def time_hnsw_build(engine: AsyncEngine, memory: str = "1GB") -> float:
    """Seconds to build a second HNSW index on all chunks at once (dropped again)."""
    ddl = hnsw_index_ddl().replace(HNSW_INDEX, "bench_hnsw_build")
    async with autocommit(engine) as connection:
        await connection.execute(text(f"SET maintenance_work_mem = '{memory}'"))
        started = time.perf_counter()
        await connection.execute(text(ddl))
        seconds = time.perf_counter() - started
        await connection.execute(text("DROP INDEX bench_hnsw_build"))
        await connection.execute(text("RESET maintenance_work_mem"))
    return seconds


# --------------------------------------------------------------------------------------------
# Ingestion
# --------------------------------------------------------------------------------------------


async def ingest(
    engine: AsyncEngine, batch: list[tuple[Document, list[Chunk]]], model: str
) -> IngestFigures:
    """Time ``upsert`` of every document, with all vectors computed beforehand."""
    vectors = await precompute([c.embedding_text for _, chunks in batch for c in chunks])
    store = PgDocumentStore(engine, PrecomputedEmbedder(model, DIMENSION, vectors))
    per_document: list[float] = []
    started = time.perf_counter()
    for document, chunks in batch:
        before = time.perf_counter()
        await store.upsert(document, chunks)
        per_document.append(time.perf_counter() - before)
    seconds = time.perf_counter() - started
    count = sum(len(chunks) for _, chunks in batch)
    return IngestFigures(
        chunks=count,
        documents=len(batch),
        seconds=seconds,
        chunks_per_second=count / seconds,
        document_p50_ms=percentile(per_document, 50) * 1000,
        document_p95_ms=percentile(per_document, 95) * 1000,
    )


async def model_ingest(server_url: str, corpus: SyntheticCorpus, chunks: int) -> ModelFigures:
    """End-to-end ingestion with the local model: chunking, embedding and database writes."""
    embedder = TimedEmbedder(LocalEmbedder())
    started = time.perf_counter()
    await embedder.embed(["warm up the model"])
    load = time.perf_counter() - started
    embedder.seconds, embedder.texts = 0.0, 0
    count = -(-chunks // CHUNKS_PER_DOCUMENT)
    documents = [corpus.document(CHUNKS_PER_DOCUMENT) for _ in range(count)]
    async with fresh_database(server_url, f"bench_{secrets.token_hex(4)}_model") as engine:
        store = PgDocumentStore(engine, embedder)
        ingested = 0
        started = time.perf_counter()
        for document in documents:
            pieces = chunk_document(document)
            await store.upsert(document, pieces)
            ingested += len(pieces)
        seconds = time.perf_counter() - started
    return ModelFigures(
        chunks=ingested,
        model_load_seconds=load,
        seconds=seconds,
        chunks_per_second=ingested / seconds,
        embedding_seconds=embedder.seconds,
        embedding_chunks_per_second=embedder.texts / embedder.seconds,
        database_seconds=seconds - embedder.seconds,
    )


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------

# A reference point that does not depend on the shipped query: full-text search over the OR of
# all the question's lexemes, every match ranked. This is what hybrid retrieval did before the
# full-text side got a match budget, and shows what that budget saves.
_OR_TERMS = (
    f"CAST(nullif(replace(CAST(plainto_tsquery('{TEXT_SEARCH_CONFIG}', :text) AS text), "
    "' & ', ' | '), '') AS tsquery)"
)
_OR_ALL_LEXEMES_QUERY = f"""
WITH q AS MATERIALIZED (SELECT {_OR_TERMS} AS terms)
SELECT c.id FROM chunks AS c, q
WHERE c.tsv @@ q.terms AND c.scopes && CAST(:scopes AS text[])
ORDER BY ts_rank(c.tsv, q.terms) DESC, c.id
LIMIT :candidates
"""  # noqa: S608 - only module constants are interpolated
_MATCH_COUNT_QUERY = f"SELECT count(*) FROM chunks WHERE tsv @@ {_OR_TERMS}"  # noqa: S608

# The shipped query with one of its two candidate lists emptied, to see what each side costs
# inside the real query. Found by CTE name; skipped if the shipped query has no such CTE.
_EMPTY_HITS = (
    "{name} AS (SELECT CAST(NULL AS text) AS id, CAST(NULL AS bigint) AS rank WHERE false),"
)
_PLACEHOLDER = re.compile(r"(?<![:\w]):(\w+)")


def shipped_without(side: str) -> str | None:
    """``_HYBRID_QUERY`` with the ``side`` CTE (``vector_hits`` or ``text_hits``) emptied."""
    match = re.search(rf"\b{side} AS \(.*?\n\),", _HYBRID_QUERY, re.S)
    if match is None:
        return None
    empty = _EMPTY_HITS.format(name=side)
    return _HYBRID_QUERY[: match.start()] + empty + _HYBRID_QUERY[match.end() :]


def bind(
    sql: str, query: Query, vector: Vectors, options: RetrievalOptions, terms: Terms
) -> dict[str, Any]:
    """Values for the placeholders in ``sql``, as the retriever binds them.

    Any ``RetrievalOptions`` field can be a placeholder, so the shipped query may gain options
    without this bench needing a change; ``terms`` holds the full-text query the retriever
    chose for each question, for a query that takes it as a parameter.
    """
    values: dict[str, Any] = {f.name: getattr(options, f.name) for f in fields(options)}
    values |= {
        "embedding": vector,
        "text": query.text,
        "scopes": sorted({PUBLIC_SCOPE, *query.scopes}),
        "candidates": max(options.candidates, query.k),
        "k": query.k,
    }
    if query.text in terms:
        values["terms"] = terms[query.text]
    names = set(_PLACEHOLDER.findall(sql))
    if missing := names - values.keys():
        raise KeyError(f"the query has parameters this bench cannot fill: {sorted(missing)}")
    return {name: values[name] for name in names}


def ef_search(options: RetrievalOptions, query: Query) -> str:
    return str(max(options.ef_search, options.candidates, query.k))


# Runs one query and returns the ids it found, in order.
Runner = Callable[[Query, Vectors], Awaitable[list[str]]]
# The full-text query (tsquery text, or None) the retriever chose for each question.
Terms = dict[str, str | None]


async def shipped_terms(
    engine: AsyncEngine, options: RetrievalOptions, questions: Sequence[str]
) -> Terms:
    """The retriever's full-text terms per question, when it chooses them outside the SQL."""
    retriever = PgHybridRetriever(engine, HashingEmbedder(DIMENSION), options)
    if not hasattr(retriever, "text_terms"):
        return {}
    return {q: (await retriever.text_terms(q)) or None for q in questions}


async def time_queries(
    run_one: Runner, queries: Sequence[Query], vectors: Vectors, warmup: int
) -> tuple[LatencyFigures, list[list[str]]]:
    """Run the first ``warmup`` queries untimed, then time each of the rest."""
    for query, vector in zip(queries[:warmup], vectors[:warmup], strict=True):
        await run_one(query, vector)
    timings: list[float] = []
    found: list[list[str]] = []
    for query, vector in zip(queries[warmup:], vectors[warmup:], strict=True):
        started = time.perf_counter()
        found.append(await run_one(query, vector))
        timings.append((time.perf_counter() - started) * 1000)
    return latency_figures(timings, [len(ids) for ids in found]), found


def retriever_runner(
    engine: AsyncEngine, options: RetrievalOptions, embedder: PrecomputedEmbedder
) -> Runner:
    """``PgHybridRetriever.search``, as the bot runs it; the embedder only looks the
    question's precomputed vector up, so no embedding time is included."""
    retriever = PgHybridRetriever(engine, embedder, options)

    async def run_one(query: Query, _vector: Vectors) -> list[str]:
        return [chunk.chunk_id for chunk in await retriever.search(query)]

    return run_one


def statement_runner(
    engine: AsyncEngine, sql: str, options: RetrievalOptions, terms: Terms
) -> Runner:
    """Runs ``sql`` the way the retriever runs the hybrid query (pooled connection, same
    ``hnsw.ef_search``, terms chosen beforehand); the first column of each row is the id."""
    statement = text(sql)

    async def run_one(query: Query, vector: Vectors) -> list[str]:
        parameters = bind(sql, query, vector, options, terms)
        async with engine.connect() as connection:
            await connection.execute(
                text("SELECT set_config('hnsw.ef_search', :ef, true)"),
                {"ef": ef_search(options, query)},
            )
            return [row[0] for row in await connection.execute(statement, parameters)]

    return run_one


async def measure_queries(
    engine: AsyncEngine,
    queries: Sequence[Query],
    vectors: Vectors,
    embedder: PrecomputedEmbedder,
    warmup: int,
    *,
    components: bool,
    budgets: Sequence[int],
) -> tuple[LatencyFigures, dict[str, LatencyFigures]]:
    """The shipped hybrid query's latency, and that of its parts and of some variants."""
    options = RetrievalOptions()
    shipped, expected = await time_queries(
        retriever_runner(engine, options, embedder), queries, vectors, warmup
    )
    if not components:
        return shipped, {}
    terms = await shipped_terms(engine, options, [q.text for q in queries])
    variants: dict[str, Runner] = {}
    for side, label in (
        ("text_hits", "shipped query, vector side only"),
        ("vector_hits", "shipped query, full-text side only"),
    ):
        sql = shipped_without(side)
        if sql is None:
            log(f"  skipping {label!r}: the shipped query has no {side} CTE")
        else:
            variants[label] = statement_runner(engine, sql, options, terms)
    if "text_match_budget" in {f.name for f in fields(options)}:
        for budget in budgets:
            variants[f"hybrid, text_match_budget={budget}"] = retriever_runner(
                engine, replace(options, text_match_budget=budget), embedder
            )
    variants["reference: full-text OR of all lexemes"] = statement_runner(
        engine, _OR_ALL_LEXEMES_QUERY, options, terms
    )
    figures = {}
    for name, run_one in variants.items():
        log(f"  timing: {name}")
        figures[name], found = await time_queries(run_one, queries, vectors, warmup)
        if name.startswith("hybrid"):
            figures[name].overlap = statistics.fmean(
                len(set(a) & set(b)) / len(b) if b else float(not a)
                for a, b in zip(found, expected, strict=True)
            )
    return shipped, figures


async def mean_text_matches(engine: AsyncEngine, questions: Sequence[str]) -> float:
    """How many chunks contain any of a question's lexemes, on average."""
    async with engine.connect() as connection:
        counts = [
            (await connection.execute(text(_MATCH_COUNT_QUERY), {"text": q})).scalar_one()
            for q in questions
        ]
    return statistics.fmean(counts)


_RELEVANT_PLAN_LINE = re.compile(
    rf"{HNSW_INDEX}|{GIN_INDEX}|Seq Scan on (chunks|documents)|Sort Method|Execution Time|"
    r"Planning Time|JIT|Bitmap Heap Scan on chunks|^\s*CTE \w+\s*$|Limit"
)


async def question_to_explain(engine: AsyncEngine, queries: Sequence[Query], start: int) -> int:
    """The first measured question whose full-text side has terms, so that the plan shows both
    sides (a question of common words only has none); else the first measured question."""
    terms = await shipped_terms(engine, RetrievalOptions(), [q.text for q in queries[start:]])
    return next((i for i in range(start, len(queries)) if terms.get(queries[i].text)), start)


async def explain(engine: AsyncEngine, query: Query, vector: Vectors) -> PlanFigures:
    """EXPLAIN ANALYZE of one hybrid query, and the generic plan a prepared statement gets."""
    options = RetrievalOptions()
    terms = await shipped_terms(engine, options, [query.text])
    async with engine.connect() as connection:
        await connection.execute(
            text("SELECT set_config('hnsw.ef_search', :ef, true)"),
            {"ef": ef_search(options, query)},
        )
        plan = [
            row[0]
            for row in await connection.execute(
                text(f"EXPLAIN (ANALYZE, BUFFERS) {_HYBRID_QUERY}"),
                bind(_HYBRID_QUERY, query, vector, options, terms),
            )
        ]
        # psycopg prepares a statement after five executions, and Postgres may then switch to
        # a generic plan: check that one too (EXPLAIN (GENERIC_PLAN) is new in Postgres 16).
        generic: list[str] = []
        with contextlib.suppress(psycopg.Error):
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, psycopg.AsyncConnection)
            async with driver.cursor() as cursor:
                await cursor.execute(f"EXPLAIN (GENERIC_PLAN) {_numbered(_HYBRID_QUERY)}")
                generic = [row[0] for row in await cursor.fetchall()]
        await connection.rollback()

    def uses_hnsw(lines: list[str]) -> bool:
        return any(f"Index Scan using {HNSW_INDEX}" in line for line in lines)

    return PlanFigures(
        question=query.text,
        uses_hnsw=uses_hnsw(plan),
        generic_uses_hnsw=uses_hnsw(generic) if generic else None,
        relevant_lines=[line.rstrip() for line in plan if _RELEVANT_PLAN_LINE.search(line)],
        generic_relevant_lines=[line.strip() for line in generic if HNSW_INDEX in line],
        full_plan=plan,
    )


def _numbered(query: str) -> str:
    """``:name`` placeholders as ``$1, $2...`` (one number per distinct name)."""
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

    return _PLACEHOLDER.sub(number, query)


# --------------------------------------------------------------------------------------------
# Where ingestion time goes (--breakdown)
# --------------------------------------------------------------------------------------------

_PLAIN_COLUMNS = f"""
    id text, document_id text, position int4, heading_path text[], url text, context text,
    text text, content_hash text, scopes text[], model text, embedding vector({DIMENSION})
"""
_TSV_COLUMN = f""",
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', context), 'A')
        || setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', text), 'B')
    ) STORED
"""
_BTREES = ", PRIMARY KEY (id), UNIQUE (document_id, position)"
_COPY_STATEMENT = f"COPY bd ({CHUNK_COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = CHUNK_COPY_TYPES
_BD_HASH = "CREATE INDEX bd_hash ON bd (content_hash)"
_BD_GIN = "CREATE INDEX bd_gin ON bd USING gin (tsv)"
_BD_HNSW = hnsw_index_ddl().replace(" ON chunks ", " ON bd ").replace(HNSW_INDEX, "bd_hnsw")
_FULL_SCHEMA = _PLAIN_COLUMNS + _TSV_COLUMN + _BTREES

# (step, table definition, index statements, session settings)
_BREAKDOWN_STEPS: list[tuple[str, str, list[str], list[str]]] = [
    ("COPY only (no tsv, no indexes)", _PLAIN_COLUMNS, [], []),
    ("+ generated tsv column", _PLAIN_COLUMNS + _TSV_COLUMN, [], []),
    ("+ B-tree indexes", _FULL_SCHEMA, [_BD_HASH], []),
    ("+ GIN index (= schema minus HNSW)", _FULL_SCHEMA, [_BD_HASH, _BD_GIN], []),
    ("+ HNSW index (= full schema)", _FULL_SCHEMA, [_BD_HASH, _BD_GIN, _BD_HNSW], []),
    ("full schema, synchronous_commit=off", _FULL_SCHEMA, [_BD_HASH, _BD_GIN, _BD_HNSW],
     ["SET synchronous_commit = off"]),
    ("HNSW index only (no tsv, no GIN)", _PLAIN_COLUMNS + _BTREES, [_BD_HASH, _BD_HNSW], []),
]  # fmt: skip


async def breakdown(server_url: str, corpus: SyntheticCorpus, rows: int) -> list[BreakdownStep]:
    """COPY the same rows, 50 per transaction, into tables with more and more of the schema.

    Then the bulk-load alternative (the schema minus HNSW, then one CREATE INDEX), and the same
    documents through ``PgDocumentStore.upsert`` with and without the HNSW index.
    """
    batch = corpus.documents(rows, CHUNKS_PER_DOCUMENT)
    chunks = [c for _, pieces in batch for c in pieces]
    vectors = await precompute([c.embedding_text for c in chunks])
    model = HashingEmbedder(DIMENSION).model
    records = [
        (
            c.id, c.document_id, c.position, list(c.heading_path), c.url, c.context, c.text,
            c.content_hash, [PUBLIC_SCOPE], model, vectors[c.embedding_text],
        )
        for c in chunks
    ]  # fmt: skip
    groups = [
        records[i : i + CHUNKS_PER_DOCUMENT] for i in range(0, len(records), CHUNKS_PER_DOCUMENT)
    ]
    steps: list[BreakdownStep] = []
    async with fresh_database(server_url, f"bench_{secrets.token_hex(4)}_breakdown") as engine:
        url = _libpq_url(engine.url.render_as_string(hide_password=False))
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            await register_vector_async(connection)
            cursor = await connection.execute("SELECT pg_backend_pid()")
            backend = (await cursor.fetchone() or (0,))[0]

            async def timed(
                name: str, work: Callable[[], Awaitable[None]], *, on_backend: bool = True
            ) -> None:
                # The server CPU is that of this connection's backend, so only for its work.
                server = process_cpu_seconds(backend) if on_backend else None
                wall, cpu = time.perf_counter(), time.process_time()
                await work()
                seconds = time.perf_counter() - wall
                server_after = process_cpu_seconds(backend)
                steps.append(
                    BreakdownStep(
                        name=name,
                        rows=len(records),
                        seconds=seconds,
                        rows_per_second=len(records) / seconds,
                        client_cpu_seconds=time.process_time() - cpu,
                        server_cpu_seconds=(
                            server_after - server
                            if server is not None and server_after is not None
                            else None
                        ),
                    )
                )
                log(f"breakdown: {name}: {len(records) / seconds:,.0f} rows/s")

            async def copy_all() -> None:
                for group in groups:
                    async with (
                        connection.transaction(),
                        connection.cursor() as cursor,
                        cursor.copy(_COPY_STATEMENT) as copy,
                    ):
                        copy.set_types(_COPY_TYPES)
                        for record in group:
                            await copy.write_row(record)

            async def create(body: str, indexes: Sequence[str]) -> None:
                await connection.execute("DROP TABLE IF EXISTS bd")
                await connection.execute(f"CREATE TABLE bd ({body})")
                for statement in indexes:
                    await connection.execute(statement)

            for name, body, indexes, settings in _BREAKDOWN_STEPS:
                await create(body, indexes)
                for setting in settings:
                    await connection.execute(setting)
                await timed(name, copy_all)
                await connection.execute("RESET ALL")

            async def build() -> None:
                await connection.execute("SET maintenance_work_mem = '1GB'")
                await connection.execute(_BD_HNSW)
                await connection.execute("RESET maintenance_work_mem")

            await create(_FULL_SCHEMA, [_BD_HASH, _BD_GIN])
            await timed("bulk: schema minus HNSW ...", copy_all)
            await timed("bulk: ... then CREATE INDEX hnsw (1GB m_w_m)", build)
            await connection.execute("DROP TABLE bd")

            store = PgDocumentStore(engine, PrecomputedEmbedder(model, DIMENSION, vectors))

            async def upsert_all() -> None:
                for document, pieces in batch:
                    await store.upsert(document, pieces)

            await timed("store.upsert, full schema", upsert_all, on_backend=False)
            await connection.execute("TRUNCATE documents CASCADE")
            await connection.execute(f"DROP INDEX {HNSW_INDEX}")
            await timed("store.upsert, schema minus HNSW", upsert_all, on_backend=False)
    return steps


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> Report:
    sizes = sorted(set(args.sizes))
    corpus = SyntheticCorpus(args.seed)
    questions = corpus.questions(args.warmup + args.queries, args.seed + 2)
    queries = [Query(q) for q in questions]
    model = HashingEmbedder(DIMENSION).model
    query_vectors = await HashingEmbedder(DIMENSION).embed(questions)
    query_embedder = PrecomputedEmbedder(
        model, DIMENSION, dict(zip(questions, query_vectors, strict=True))
    )
    tuning = EmbeddedTuning(args.server_shared_buffers)
    async with bench_server(args.database_url, tuning) as server_url:
        name = f"bench_{secrets.token_hex(4)}"
        async with fresh_database(server_url, name) as engine:
            server, settings = await server_settings(engine)
            if not args.database_url:
                settings |= tuning.describe()
            report = Report(date=time.strftime("%Y-%m-%d"), server=server, settings=settings)
            log(f"database {name} on {server}")
            ingested = 0
            for size in sizes:
                log(f"generating {size - ingested:,} chunks")
                batch = corpus.documents(size - ingested, args.chunks_per_document)
                log(f"ingesting up to {size:,} chunks")
                figures = await ingest(engine, batch, model)
                del batch
                ingested = size
                log(f"ingested: {figures.chunks_per_second:,.0f} chunks/s; vacuum analyze")
                await vacuum_analyze(engine)
                log(f"querying at {size:,} chunks")
                latency, components = await measure_queries(
                    engine,
                    queries,
                    query_vectors,
                    query_embedder,
                    args.warmup,
                    components=not args.no_components,
                    budgets=args.budgets,
                )
                log(f"p50 {latency.p50_ms:.2f} ms, p95 {latency.p95_ms:.2f} ms")
                shown = await question_to_explain(engine, queries, args.warmup)
                plan = await explain(engine, queries[shown], query_vectors[shown])
                build = None
                if not args.no_build:
                    log("timing a from-scratch HNSW build")
                    build = await time_hnsw_build(engine)
                report.sizes.append(
                    SizeFigures(
                        chunks=size,
                        ingest=figures,
                        latency=latency,
                        mean_text_matches=await mean_text_matches(engine, questions[args.warmup :]),
                        plan=plan,
                        components=components,
                        relation_bytes=await relation_sizes(engine),
                        hnsw_build_seconds=build,
                        peak_rss_mb=peak_rss_mb(),
                    )
                )
        if args.breakdown:
            log(f"breakdown on {args.breakdown:,} rows")
            report.breakdown = await breakdown(
                server_url, SyntheticCorpus(args.seed + 10), args.breakdown
            )
        if not args.skip_model:
            log(f"model ingestion of {args.model_chunks:,} chunks")
            report.model = await model_ingest(
                server_url, SyntheticCorpus(args.seed + 20), args.model_chunks
            )
    report.peak_rss_mb = peak_rss_mb()
    return report


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size / 2**20:,.1f}"


def _latency_row(label: str, q: LatencyFigures) -> str:
    overlap = f"{q.overlap:.0%}" if q.overlap is not None else ""
    return (
        f"{label:<50} {q.p50_ms:>8.2f} {q.p95_ms:>8.2f} {q.p99_ms:>8.2f} {q.mean_ms:>8.2f} "
        f"{q.max_ms:>8.2f} {q.mean_rows:>6.1f} {overlap:>8}"
    )


def render(report: Report) -> str:
    lines = [
        f"Knowledge base benchmark, {report.date}: {report.server}, {os.cpu_count()} CPUs",
        "settings: " + ", ".join(f"{k}={v}" for k, v in sorted(report.settings.items())),
        "",
        "Ingestion, database path: PgDocumentStore.upsert, 50 chunks/document, vectors precomputed",
        f"{'corpus':>9} {'new chunks':>10} {'seconds':>8} {'chunks/s':>9} "
        f"{'doc p50 ms':>10} {'doc p95 ms':>10}  target {INGEST_TARGET:,}/s",
    ]
    for s in report.sizes:
        i = s.ingest
        verdict = "ok" if i.chunks_per_second >= INGEST_TARGET else "MISSED"
        lines.append(
            f"{s.chunks:>9,} {i.chunks:>10,} {i.seconds:>8.1f} {i.chunks_per_second:>9,.0f} "
            f"{i.document_p50_ms:>10.1f} {i.document_p95_ms:>10.1f}  {verdict}"
        )
    total_chunks = sum(s.ingest.chunks for s in report.sizes)
    total_seconds = sum(s.ingest.seconds for s in report.sizes)
    if total_seconds:
        lines.append(
            f"{'all':>9} {total_chunks:>10,} {total_seconds:>8.1f} "
            f"{total_chunks / total_seconds:>9,.0f}"
        )
    lines += [
        "",
        "Hybrid query latency, query embedding excluded (PgHybridRetriever.search)",
        f"{'corpus':>9} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'mean ms':>8} {'max ms':>8} {'results':>7} {'FTS matches':>11}  target p95 < "
        f"{P95_TARGET_MS:g} ms",
    ]
    for s in report.sizes:
        q = s.latency
        verdict = "ok" if q.p95_ms < P95_TARGET_MS else "MISSED"
        lines.append(
            f"{s.chunks:>9,} {q.queries:>7} {q.p50_ms:>8.2f} {q.p95_ms:>8.2f} {q.p99_ms:>8.2f} "
            f"{q.mean_ms:>8.2f} {q.max_ms:>8.2f} {q.mean_rows:>7.2f} "
            f"{s.mean_text_matches:>11,.0f}  {verdict}"
        )
    for s in report.sizes:
        if not s.components:
            continue
        lines += [
            "",
            f"Query parts and variants at {s.chunks:,} chunks ({s.latency.queries} queries)",
            f"{'':<50} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
            f"{'max ms':>8} {'rows':>6} {'overlap':>8}",
            _latency_row("hybrid, as shipped", s.latency),
            *(_latency_row(name, figures) for name, figures in s.components.items()),
        ]
    lines += [
        "",
        "Size (MB), HNSW build from scratch, and memory",
        f"{'corpus':>9} {'chunks':>8} {'heap':>7} {'toast':>7} {'indexes':>8} {'hnsw':>7} "
        f"{'gin':>6} {'docs':>6} {'database':>8} {'build s':>8} {'peak RSS':>9}",
    ]
    for s in report.sizes:
        r = s.relation_bytes
        build = f"{s.hnsw_build_seconds:.1f}" if s.hnsw_build_seconds is not None else "-"
        lines.append(
            f"{s.chunks:>9,} {_mb(r['chunks_total']):>8} {_mb(r['chunks_heap']):>7} "
            f"{_mb(r['chunks_toast']):>7} {_mb(r['chunks_indexes']):>8} "
            f"{_mb(r['hnsw_index']):>7} {_mb(r['gin_index']):>6} "
            f"{_mb(r['documents_total']):>6} {_mb(r['database']):>8} {build:>8} "
            f"{s.peak_rss_mb:>7,.0f}MB"
        )
    for s in report.sizes:
        p = s.plan
        lines += [
            "",
            f"Plan at {s.chunks:,} chunks for {p.question!r} (EXPLAIN ANALYZE, excerpt)",
            f"uses HNSW index {HNSW_INDEX}: {'yes' if p.uses_hnsw else 'NO'}",
            *(f"  {line}" for line in p.relevant_lines),
        ]
        if p.generic_uses_hnsw is not None:
            lines.append(
                f"generic plan (prepared statement) uses {HNSW_INDEX}: "
                f"{'yes' if p.generic_uses_hnsw else 'NO'}"
            )
            lines += [f"  {line}" for line in p.generic_relevant_lines]
    if report.breakdown:
        rows = report.breakdown[0].rows
        lines += [
            "",
            f"Where ingestion time goes: COPY of the same {rows:,} rows, 50 per transaction",
            f"{'step':<46} {'seconds':>8} {'rows/s':>8} {'client CPU s':>12} {'server CPU s':>12}",
        ]
        for b in report.breakdown:
            server = f"{b.server_cpu_seconds:.2f}" if b.server_cpu_seconds is not None else "-"
            lines.append(
                f"{b.name:<46} {b.seconds:>8.2f} {b.rows_per_second:>8,.0f} "
                f"{b.client_cpu_seconds:>12.2f} {server:>12}"
            )
    if report.model:
        m = report.model
        lines += [
            "",
            "Ingestion with the local model (all-MiniLM-L6-v2, CPU), end to end",
            f"{m.chunks:,} chunks in {m.seconds:.1f} s: {m.chunks_per_second:,.0f} chunks/s; "
            f"embedding {m.embedding_seconds:.1f} s ({m.embedding_chunks_per_second:,.0f} "
            f"chunks/s), chunking and database {m.database_seconds:.1f} s; "
            f"model load {m.model_load_seconds:.1f} s (not included)",
        ]
    lines += ["", f"peak RSS of the bench process: {report.peak_rss_mb:,.0f} MB"]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = parser.add_argument
    add(
        "--sizes",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="corpus sizes in chunks, built incrementally (default: 10000 100000)",
    )
    add("--queries", type=int, default=200, help="timed queries per size (default: 200)")
    add("--warmup", type=int, default=50, help="untimed queries first (default: 50)")
    add(
        "--database-url",
        help="a Postgres server to create the bench database on "
        "(default: an embedded Postgres in a temporary directory)",
    )
    add("--skip-model", action="store_true", help="skip the local-model ingestion run")
    add("--model-chunks", type=int, default=2000, help="chunks for the local-model run")
    add("--chunks-per-document", type=int, default=CHUNKS_PER_DOCUMENT)
    add(
        "--breakdown",
        type=int,
        default=10_000,
        metavar="ROWS",
        help="rows for the ingestion breakdown (default: 10000; 0 skips it)",
    )
    add(
        "--no-components",
        action="store_true",
        help="time only the shipped hybrid query, not its parts and variants",
    )
    add(
        "--budgets",
        type=int,
        nargs="*",
        default=[300, 3000, 10000],
        help="also time the shipped query with these text_match_budget values "
        "(default: 300 3000 10000)",
    )
    add("--no-build", action="store_true", help="skip timing a from-scratch HNSW build")
    add(
        "--server-shared-buffers",
        metavar="SIZE",
        help="restart the embedded Postgres with this shared_buffers (e.g. 512MB)",
    )
    add("--seed", type=int, default=20261121)
    add(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the figures as JSON to PATH, or with no PATH to stdout instead of the table",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    as_json = json.dumps(asdict(report), indent=2, default=str)
    if args.json == "-":
        print(as_json)
        return
    print(render(report))
    if args.json:
        Path(args.json).write_text(as_json + "\n")


if __name__ == "__main__":
    main()
