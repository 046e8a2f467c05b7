"""Hybrid retrieval: one SQL query that fuses HNSW vector search with Postgres full-text search.

Both candidate lists are filtered by scope before fusion, ranked separately, and fused with
reciprocal rank fusion. A chunk's cosine similarity to the question is returned alongside the
fused score; the minimum-score cut applies to that similarity because, unlike a rank-based
score, it means the same thing for every question. The passages of the sentences closest to the
question are a third list. A second query scores the sentences of the fused top 20, which are
then ordered by the fitted ranking (``knowledge/ranking.py``) when there is one for the model,
else with their best sentence as one more list of the fusion (``rescored``). The question is
searched as ``query_text.search_text`` reads it (emoji out, shorthand spelled out).
Only citable documents are searched: drafts, retired and superseded ones never are.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from knowledge.database import CONNECTION_ERRORS, unavailable
from knowledge.document_rows import CITABLE
from knowledge.embedders import Embedder, Vectors
from knowledge.query_text import search_text
from knowledge.ranking import RankingModel
from knowledge.reranking import Reranker
from knowledge.schema import CHUNKS_TABLE, TEXT_SEARCH_CONFIG, VECTOR_DISTANCE_OPERATOR
from knowledge.types import PUBLIC_SCOPE, ListRanks, Query, ScoredChunk, ScoredSentence


@dataclass(frozen=True)
class RetrievalOptions:
    """Tuning for hybrid retrieval.

    ``candidates`` is how many hits each list contributes before fusion; ``rrf_k`` and the two
    weights shape the weighted reciprocal rank fusion; ``min_similarity`` drops chunks whose
    cosine similarity to the question is lower; ``text_match_budget`` bounds how many chunks the
    full-text side may rank (see the query's comment), by lexeme statistics re-read every
    ``stats_refresh_seconds`` (they change only when ANALYZE runs); ``ef_search`` is the HNSW
    search breadth; ``rerank_candidates`` is how many fused results a reranker, when there is
    one, reorders before the top k are kept.
    """

    min_similarity: float = 0.2
    candidates: int = 40
    # Measured with `supportbot eval` (README, Evaluation): a small rrf_k lets the top of each
    # list count, and the vector list outweighs full text, whose matches on the asker's
    # situation words are noisier. Against plain RRF (k=60, equal weights) this raised
    # ConditionalQA evidence hit@5 by about 2 points with and 4 without the situation.
    rrf_k: int = 10
    vector_weight: float = 1.0
    text_weight: float = 0.5
    ef_search: int = 40
    text_match_budget: int = 1000
    stats_refresh_seconds: float = 60.0
    # The fused top ``rescore_depth`` are ranked again with their best sentence as a third
    # list of the fusion, weighted ``sentence_weight``: a passage whose one sentence answers
    # the question rises above one that is only about the same topic.
    rescore_depth: int = 20
    sentence_weight: float = 1.0
    rerank_candidates: int = 20
    # The ``sentence_candidates`` chunks holding the sentences closest to the question form a
    # fourth list, weighted ``sentence_list_weight``: a casual question often matches one
    # sentence of a passage whose whole text is about something broader, so neither the
    # passage's vector nor its words bring it up. On the handbook's held-out set this raised
    # evidence hit@5 from 0.765 to 0.798 (README, Evaluation); 0 leaves the list out.
    sentence_candidates: int = 40
    sentence_list_weight: float = 1.0
    # When set, the fused top ``rescore_depth`` are ordered by this fitted model instead
    # (knowledge/ranking.py); it was fitted on candidates ``rescored`` had ordered.
    ranking: RankingModel | None = None


# Full-text matches use OR semantics: a question's words rarely all occur in one chunk. Ranking
# every chunk that shares a common word ("leave", "policy") with the question is what makes
# naive OR search slow on a large corpus, and those words say little about relevance anyway.
# So the question's lexemes are taken rarest first, by the frequencies ANALYZE keeps for the
# tsvector column in pg_stats, while the chunks they match stay within a budget: the words
# that discriminate are always searched, and the cost is bounded at any corpus size. With no
# statistics yet (a new, small corpus) every lexeme counts as rare, and all are searched.
_LEXEMES_QUERY = f"SELECT tsvector_to_array(to_tsvector('{TEXT_SEARCH_CONFIG}', :text))"
_LEXEME_STATS_QUERY = f"""
SELECT CAST(CAST(s.most_common_elems AS text) AS text[]) AS lexemes,
       s.most_common_elem_freqs AS freqs,
       greatest(c.reltuples, 0) AS chunk_count
FROM pg_stats AS s
JOIN pg_class AS c ON c.oid = CAST('{CHUNKS_TABLE}' AS regclass)
WHERE s.schemaname = current_schema() AND s.tablename = '{CHUNKS_TABLE}' AND s.attname = 'tsv'
"""  # noqa: S608

# Evaluated once per query (an ARRAY of a subquery is an init plan), so the vector search can
# still walk the HNSW index and filter as it goes.
_UNCITABLE = f"ARRAY(SELECT d.id FROM documents AS d WHERE NOT ({CITABLE}))"  # noqa: S608

# Only module constants are interpolated; every value arrives as a bound parameter. Ties (a
# sentence repeated on several pages, identical chunks) are broken by id, so a question gets the
# same search every time: without that, 13 of 143 handbook questions came back in another order
# on a second run. The vector list's inner ORDER BY keeps its one key: a second one would stop
# the HNSW index from serving it.
_HYBRID_QUERY = f"""
WITH query AS (
    SELECT CAST(:embedding AS vector) AS embedding, CAST(:terms AS tsquery) AS terms
),
vector_hits AS (
    SELECT c.id, row_number() OVER (ORDER BY c.distance, c.id) AS rank
    FROM (
        SELECT id, embedding {VECTOR_DISTANCE_OPERATOR} (SELECT embedding FROM query) AS distance
        FROM chunks
        WHERE scopes && CAST(:scopes AS text[])
          AND NOT document_id = ANY({_UNCITABLE})
        ORDER BY distance
        LIMIT :candidates
    ) AS c
),
text_hits AS (
    SELECT c.id,
           row_number() OVER (ORDER BY ts_rank(c.tsv, q.terms) DESC, c.id) AS rank
    FROM chunks AS c, query AS q
    WHERE c.tsv @@ q.terms AND c.scopes && CAST(:scopes AS text[])
      AND NOT c.document_id = ANY({_UNCITABLE})
    ORDER BY ts_rank(c.tsv, q.terms) DESC, c.id
    LIMIT :candidates
),
sentence_hits AS (
    SELECT b.chunk_id AS id, row_number() OVER (ORDER BY min(b.distance), b.chunk_id) AS rank
    FROM (
        SELECT s.chunk_id,
               s.embedding {VECTOR_DISTANCE_OPERATOR} (SELECT embedding FROM query) AS distance
        FROM sentences AS s JOIN chunks AS c ON c.id = s.chunk_id
        WHERE :sentence_candidates > 0 AND c.scopes && CAST(:scopes AS text[])
          AND NOT c.document_id = ANY({_UNCITABLE})
        ORDER BY distance, s.chunk_id, s.position
        LIMIT 3 * :sentence_candidates
    ) AS b
    GROUP BY b.chunk_id
    ORDER BY min(b.distance), b.chunk_id
    LIMIT :sentence_candidates
),
fused AS (
    SELECT l.id, sum(l.score) AS score, min(l.rank) FILTER (WHERE l.list = 1) AS vector_rank,
           min(l.rank) FILTER (WHERE l.list = 2) AS text_rank,
           min(l.rank) FILTER (WHERE l.list = 3) AS sentence_rank
    FROM (
        SELECT id, :vector_weight / (:rrf_k + rank) AS score, rank, 1 AS list FROM vector_hits
        UNION ALL SELECT id, :text_weight / (:rrf_k + rank), rank, 2 FROM text_hits
        UNION ALL SELECT id, :sentence_list_weight / (:rrf_k + rank), rank, 3 FROM sentence_hits
    ) AS l
    GROUP BY l.id
)
SELECT c.id, c.document_id, d.title, c.heading_path, c.url, c.text, f.score,
       f.vector_rank, f.text_rank, f.sentence_rank,
       1 - (c.embedding {VECTOR_DISTANCE_OPERATOR} q.embedding) AS similarity, d.review_by,
       (SELECT max(v.created_at) FROM document_versions AS v WHERE v.document_id = d.id)
           AS updated
FROM fused AS f
JOIN chunks AS c ON c.id = f.id
JOIN documents AS d ON d.id = c.document_id
CROSS JOIN query AS q
WHERE 1 - (c.embedding {VECTOR_DISTANCE_OPERATOR} q.embedding) >= :min_similarity
ORDER BY f.score DESC, similarity DESC, c.id
LIMIT :depth
"""  # noqa: S608

_SENTENCES_QUERY = f"""
SELECT chunk_id, position, text,
       1 - (embedding {VECTOR_DISTANCE_OPERATOR} CAST(:embedding AS vector)) AS similarity
FROM sentences
WHERE chunk_id = ANY(:ids)
ORDER BY chunk_id, position
"""  # noqa: S608


class PgHybridRetriever:
    """Top-k chunks for a question, from documents the asker's scopes may see."""

    def __init__(
        self,
        engine: AsyncEngine,
        embedder: Embedder,
        options: RetrievalOptions | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self._engine = engine
        self._embedder = embedder
        self._options = options or RetrievalOptions()
        self._reranker = reranker
        self._stats: dict[str, float] = {}
        self._stats_expire = 0.0

    async def search(self, query: Query) -> list[ScoredChunk]:
        """The best chunks for ``query``, best first; fewer than k when few are good enough."""
        return (await self.search_many([query]))[0]

    async def search_many(self, queries: Sequence[Query]) -> list[list[ScoredChunk]]:
        """Like ``search`` for several queries, embedding them in one batch."""
        texts = [search_text(q.text) for q in queries]
        vectors = await self._embedder.embed(texts)
        depth = self._options.rerank_candidates if self._reranker else 0
        try:
            async with self._engine.connect() as connection:
                found = [
                    await self._search_with(connection, replace(q, k=max(q.k, depth)), t, v)
                    for q, t, v in zip(queries, texts, vectors, strict=True)
                ]
        except CONNECTION_ERRORS as e:
            raise unavailable(self._engine, e) from e
        if self._reranker is None:
            return found
        # After the connection is back in the pool: a reranker may take a while.
        return [
            (await self._reranker.rerank(q.text, hits))[: q.k]
            for q, hits in zip(queries, found, strict=True)
        ]

    def unranked(self) -> PgHybridRetriever:
        """This search without its fitted ranking or reranker: the candidates a ranking is
        fitted on (``supportbot eval --fit-ranking``)."""
        return PgHybridRetriever(self._engine, self._embedder, replace(self._options, ranking=None))

    async def text_terms(self, question: str) -> str:
        """The full-text query the hybrid search runs for ``question`` (for diagnostics)."""
        try:
            async with self._engine.connect() as connection:
                return await self._text_terms(connection, search_text(question)) or ""
        except CONNECTION_ERRORS as e:
            raise unavailable(self._engine, e) from e

    async def _text_terms(self, connection: AsyncConnection, question: str) -> str | None:
        """The question's rarest lexemes, OR-ed, while their estimated matches fit the budget."""
        lexemes = (await connection.execute(text(_LEXEMES_QUERY), {"text": question})).scalar()
        stats = await self._lexeme_matches(connection)
        chosen: list[str] = []
        matches = 0.0
        for lexeme in sorted(lexemes or [], key=lambda lexeme: (stats.get(lexeme, 0.0), lexeme)):
            matches += stats.get(lexeme, 0.0)
            if matches > self._options.text_match_budget:
                break
            if "\\" not in lexeme:  # a backslash would need escaping in tsquery syntax
                chosen.append("'" + lexeme.replace("'", "''") + "'")
        return " | ".join(chosen) or None

    async def _lexeme_matches(self, connection: AsyncConnection) -> dict[str, float]:
        """Estimated chunks per common lexeme, from the statistics ANALYZE keeps."""
        now = time.monotonic()
        if now >= self._stats_expire:
            row = (await connection.execute(text(_LEXEME_STATS_QUERY))).first()
            self._stats = (
                {
                    lexeme: float(freq) * float(row.chunk_count)
                    for lexeme, freq in zip(row.lexemes, row.freqs, strict=False)
                }
                if row is not None and row.lexemes
                else {}
            )
            self._stats_expire = now + self._options.stats_refresh_seconds
        return self._stats

    async def _search_with(
        self, connection: AsyncConnection, query: Query, words: str, embedding: Vectors
    ) -> list[ScoredChunk]:
        options = self._options
        scopes = sorted({PUBLIC_SCOPE, *query.scopes})
        candidates = max(options.candidates, query.k)
        terms = await self._text_terms(connection, words)
        await connection.execute(
            text("SELECT set_config('hnsw.ef_search', :ef, true)"),
            {"ef": str(max(options.ef_search, candidates))},
        )
        rows = await connection.execute(
            text(_HYBRID_QUERY),
            {
                "embedding": embedding,
                "terms": terms,
                "scopes": scopes,
                "candidates": candidates,
                "rrf_k": options.rrf_k,
                "vector_weight": options.vector_weight,
                "text_weight": options.text_weight,
                "sentence_candidates": options.sentence_candidates,
                "sentence_list_weight": options.sentence_list_weight,
                "min_similarity": options.min_similarity,
                "depth": max(query.k, options.rescore_depth),
            },
        )
        fused = [
            ScoredChunk(
                chunk_id=row.id,
                document_id=row.document_id,
                title=row.title,
                section=row.heading_path[-1] if row.heading_path else "",
                heading_path=tuple(row.heading_path),
                url=row.url,
                text=row.text,
                score=float(row.score),
                similarity=float(row.similarity),
                updated=row.updated.date() if row.updated else None,
                review_by=row.review_by,
                ranks=ListRanks(row.vector_rank, row.text_rank, row.sentence_rank),
            )
            for row in rows
        ]
        with_sentences = await self._with_sentences(connection, fused, embedding)
        if options.ranking is not None:
            return options.ranking.ordered(query.text, with_sentences)[: query.k]
        return rescored(with_sentences, options)[: query.k]

    async def _with_sentences(
        self, connection: AsyncConnection, chunks: list[ScoredChunk], embedding: Vectors
    ) -> list[ScoredChunk]:
        """The chunks, each with its sentences scored against the question."""
        if not chunks:
            return chunks
        rows = await connection.execute(
            text(_SENTENCES_QUERY),
            {"embedding": embedding, "ids": [c.chunk_id for c in chunks]},
        )
        sentences: dict[str, list[ScoredSentence]] = {}
        for row in rows:
            scored = ScoredSentence(row.text, float(row.similarity))
            sentences.setdefault(row.chunk_id, []).append(scored)
        return [replace(c, sentences=tuple(sentences.get(c.chunk_id, ()))) for c in chunks]


def rescored(chunks: list[ScoredChunk], options: RetrievalOptions) -> list[ScoredChunk]:
    """The fused candidates ordered again with their best sentence's rank as a third list."""
    by_sentence = sorted(
        (c for c in chunks if c.sentences), key=lambda c: -c.best_sentence_similarity
    )
    bonus = {
        c.chunk_id: options.sentence_weight / (options.rrf_k + rank)
        for rank, c in enumerate(by_sentence, 1)
    }
    rescored = [replace(c, score=c.score + bonus.get(c.chunk_id, 0.0)) for c in chunks]
    return sorted(rescored, key=lambda c: (-c.score, -c.similarity))
