"""Hybrid retrieval: one SQL query that fuses HNSW vector search with Postgres full-text search.

Both candidate lists are filtered by scope before fusion, ranked separately, and fused with
reciprocal rank fusion. A chunk's cosine similarity to the question is returned alongside the
fused score; the minimum-score cut applies to that similarity because, unlike a rank-based
score, it means the same thing for every question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import CONNECTION_ERRORS, unavailable
from knowledge.embedders import Embedder, Vectors
from knowledge.schema import CHUNKS_TABLE, TEXT_SEARCH_CONFIG, VECTOR_DISTANCE_OPERATOR
from knowledge.types import PUBLIC_SCOPE, Query, ScoredChunk


@dataclass(frozen=True)
class RetrievalOptions:
    """Tuning for hybrid retrieval.

    ``candidates`` is how many hits each list contributes before fusion; ``rrf_k`` is the usual
    reciprocal-rank-fusion constant; ``min_similarity`` drops chunks whose cosine similarity to
    the question is lower; ``text_match_budget`` bounds how many chunks the full-text side may
    rank (see the query's comment); ``ef_search`` is the HNSW search breadth.
    """

    min_similarity: float = 0.2
    candidates: int = 40
    rrf_k: int = 60
    ef_search: int = 40
    text_match_budget: int = 1000


# Full-text matches use OR semantics: a question's words rarely all occur in one chunk. Ranking
# every chunk that shares a common word ("leave", "policy") with the question is what makes
# naive OR search slow on a large corpus, and those words say little about relevance anyway.
# So the question's lexemes are taken rarest first, by the frequencies ANALYZE keeps for the
# tsvector column in pg_stats, while the chunks they match stay within a budget: the words
# that discriminate are always searched, and the cost is bounded at any corpus size. With no
# statistics yet (a new, small corpus) every lexeme counts as rare, and all are searched.
# Only module constants are interpolated; every value arrives as a bound parameter.
_TERMS_CTES = f"""
lexeme_stats AS (
    SELECT CAST(CAST(most_common_elems AS text) AS text[]) AS lexemes,
           most_common_elem_freqs AS freqs,
           (SELECT greatest(reltuples, 0) FROM pg_class
            WHERE oid = CAST('{CHUNKS_TABLE}' AS regclass)) AS chunk_count
    FROM pg_stats
    WHERE schemaname = current_schema() AND tablename = '{CHUNKS_TABLE}' AND attname = 'tsv'
),
question_lexemes AS (
    SELECT l.lexeme,
           coalesce(s.freqs[array_position(s.lexemes, l.lexeme)] * s.chunk_count, 0) AS matches
    FROM unnest(tsvector_to_array(to_tsvector('{TEXT_SEARCH_CONFIG}', :text))) AS l(lexeme)
    LEFT JOIN lexeme_stats AS s ON true
    WHERE strpos(l.lexeme, chr(92)) = 0
),
chosen_lexemes AS (
    SELECT lexeme
    FROM (
        SELECT lexeme, sum(matches) OVER (ORDER BY matches, lexeme) AS cumulative
        FROM question_lexemes
    ) AS ranked
    WHERE cumulative <= :text_match_budget
),
terms AS (
    SELECT CAST(nullif(string_agg(quote_literal(lexeme), ' | '), '') AS tsquery) AS terms
    FROM chosen_lexemes
)
"""  # noqa: S608

_TERMS_QUERY = f"WITH {_TERMS_CTES} SELECT CAST(terms AS text) FROM terms"  # noqa: S608

_HYBRID_QUERY = f"""
WITH query AS (
    SELECT CAST(:embedding AS vector) AS embedding
),
{_TERMS_CTES},
vector_hits AS (
    SELECT c.id, row_number() OVER (ORDER BY c.distance) AS rank
    FROM (
        SELECT id, embedding {VECTOR_DISTANCE_OPERATOR} (SELECT embedding FROM query) AS distance
        FROM chunks
        WHERE scopes && CAST(:scopes AS text[])
        ORDER BY distance
        LIMIT :candidates
    ) AS c
),
text_hits AS (
    SELECT c.id,
           row_number() OVER (ORDER BY ts_rank(c.tsv, q.terms) DESC, c.id) AS rank
    FROM chunks AS c, terms AS q
    WHERE c.tsv @@ q.terms AND c.scopes && CAST(:scopes AS text[])
    ORDER BY ts_rank(c.tsv, q.terms) DESC, c.id
    LIMIT :candidates
),
fused AS (
    SELECT coalesce(v.id, t.id) AS id,
           coalesce(1.0 / (:rrf_k + v.rank), 0) + coalesce(1.0 / (:rrf_k + t.rank), 0) AS score
    FROM vector_hits AS v FULL OUTER JOIN text_hits AS t ON v.id = t.id
)
SELECT c.id, c.document_id, d.title, c.heading_path, c.url, c.text, f.score,
       1 - (c.embedding {VECTOR_DISTANCE_OPERATOR} q.embedding) AS similarity
FROM fused AS f
JOIN chunks AS c ON c.id = f.id
JOIN documents AS d ON d.id = c.document_id
CROSS JOIN query AS q
WHERE 1 - (c.embedding {VECTOR_DISTANCE_OPERATOR} q.embedding) >= :min_similarity
ORDER BY f.score DESC, similarity DESC
LIMIT :k
"""  # noqa: S608


class PgHybridRetriever:
    """Top-k chunks for a question, from documents the asker's scopes may see."""

    def __init__(
        self, engine: AsyncEngine, embedder: Embedder, options: RetrievalOptions | None = None
    ) -> None:
        self._engine = engine
        self._embedder = embedder
        self._options = options or RetrievalOptions()

    async def search(self, query: Query) -> list[ScoredChunk]:
        """The best chunks for ``query``, best first; fewer than k when few are good enough."""
        return (await self.search_many([query]))[0]

    async def search_many(self, queries: Sequence[Query]) -> list[list[ScoredChunk]]:
        """Like ``search`` for several queries, embedding them in one batch."""
        vectors = await self._embedder.embed([q.text for q in queries])
        return [await self._search_with(q, v) for q, v in zip(queries, vectors, strict=True)]

    async def text_terms(self, question: str) -> str:
        """The full-text query the hybrid search runs for ``question`` (for diagnostics)."""
        try:
            async with self._engine.connect() as connection:
                result = await connection.execute(
                    text(_TERMS_QUERY),
                    {"text": question, "text_match_budget": self._options.text_match_budget},
                )
                return str(result.scalar() or "")
        except CONNECTION_ERRORS as e:
            raise unavailable(self._engine, e) from e

    async def _search_with(self, query: Query, embedding: Vectors) -> list[ScoredChunk]:
        options = self._options
        scopes = sorted({PUBLIC_SCOPE, *query.scopes})
        candidates = max(options.candidates, query.k)
        try:
            async with self._engine.connect() as connection:
                await connection.execute(
                    text("SELECT set_config('hnsw.ef_search', :ef, true)"),
                    {"ef": str(max(options.ef_search, candidates))},
                )
                rows = await connection.execute(
                    text(_HYBRID_QUERY),
                    {
                        "embedding": embedding,
                        "text": query.text,
                        "scopes": scopes,
                        "candidates": candidates,
                        "rrf_k": options.rrf_k,
                        "min_similarity": options.min_similarity,
                        "text_match_budget": options.text_match_budget,
                        "k": query.k,
                    },
                )
                return [
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
                    )
                    for row in rows
                ]
        except CONNECTION_ERRORS as e:
            raise unavailable(self._engine, e) from e
