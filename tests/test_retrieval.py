"""Hybrid retrieval against real Postgres: ranking, scopes, the score cut, the index."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.chunking import chunk_document
from knowledge.embedders import HashingEmbedder, LocalEmbedder
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions, rescored
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_QUESTIONS
from knowledge.store import PgDocumentStore
from knowledge.types import Query, ScoredChunk, ScoredSentence
from tests.documents import policy

CORPUS = {
    "https://hb.test/leave": ("Leave Policy", {
        "Annual leave": "Full-time staff get 25 days of annual leave each year.",
        "Parental leave": "Birth parents get 26 weeks of parental leave at full pay.",
    }),
    "https://hb.test/expenses": ("Expenses Policy", {
        "Meals": "Meals while travelling are reimbursed up to 30 pounds a day.",
        "Receipts": "Upload every receipt to the expenses tool within 30 days.",
    }),
    "https://hb.test/security": ("Security Policy", {
        "Lost laptop": "Report a lost or stolen laptop to the security team within one hour.",
        "Passwords": "Use a password manager and turn on multi-factor authentication.",
    }),
}  # fmt: skip


async def add_corpus(store: PgDocumentStore) -> None:
    for url, (title, sections) in CORPUS.items():
        document = policy(url=url, title=title, sections=sections)
        await store.upsert(document, chunk_document(document))


@pytest.mark.parametrize(
    ("question", "section"),
    [
        ("how many days of annual leave do I get", "Annual leave"),
        ("I lost my laptop, who do I tell?", "Lost laptop"),
        ("what is the daily limit for meals when travelling", "Meals"),
        ("multi-factor authentication", "Passwords"),
    ],
)
async def test_hybrid_ranking_finds_the_right_section(
    store: PgDocumentStore, retriever: PgHybridRetriever, question: str, section: str
) -> None:
    await add_corpus(store)
    hits = await retriever.search(Query(question, k=3))
    assert hits[0].section == section
    assert hits[0].url.endswith("#" + section.lower().replace(" ", "-"))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(hits) <= 3


async def test_scopes_filter_what_the_asker_may_see(
    store: PgDocumentStore, retriever: PgHybridRetriever
) -> None:
    await add_corpus(store)
    salaries = policy(
        url="https://hb.test/salaries",
        title="Salary Bands",
        sections={"Bands": "Salary bands for engineers range from level one to level six."},
        scopes=("hr",),
    )
    await store.upsert(salaries, chunk_document(salaries))
    question = "salary bands for engineers"
    public = await retriever.search(Query(question, k=10))
    assert "Salary Bands" not in {h.title for h in public}
    other = await retriever.search(Query(question, k=10, scopes=("finance",)))
    assert "Salary Bands" not in {h.title for h in other}
    hr = await retriever.search(Query(question, k=10, scopes=("hr",)))
    assert hr[0].title == "Salary Bands"
    assert {"Leave Policy"} <= {h.title for h in hr}  # public stays visible to everyone


async def test_minimum_similarity_cuts_weak_matches(
    engine: AsyncEngine, store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    await add_corpus(store)
    strict = PgHybridRetriever(engine, embedder, RetrievalOptions(min_similarity=0.3))
    assert await strict.search(Query("quantum chromodynamics lecture")) == []
    hits = await strict.search(Query("annual leave days each year"))
    assert hits and all(h.similarity >= 0.3 for h in hits)


async def test_the_vector_search_can_use_the_hnsw_index(
    engine: AsyncEngine, store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    await add_corpus(store)
    [vector] = await embedder.embed(["annual leave"])
    async with engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            (
                await connection.execute(
                    text(
                        "EXPLAIN SELECT id FROM chunks WHERE scopes && ARRAY['public'] "
                        "ORDER BY embedding <=> CAST(:v AS vector) LIMIT 5"
                    ),
                    {"v": vector},
                )
            ).scalars()
        )
    assert "chunks_embedding_hnsw" in plan


@pytest.mark.model
async def test_sample_questions_find_their_documents_with_the_local_model(
    sample_model_engine: AsyncEngine, local_model: LocalEmbedder
) -> None:
    """The bundled model on the bundled handbook: the gold document is in the top 4."""
    retriever = PgHybridRetriever(sample_model_engine, local_model)
    questions = [json.loads(line) for line in SAMPLE_QUESTIONS.read_text().splitlines()]
    answerable = [q for q in questions if q["answerable"]]
    results = await retriever.search_many(
        [Query(q["question"], k=4, scopes=("public", "hr", "finance")) for q in answerable]
    )
    gold = [SAMPLE_BASE_URL + q["gold_documents"][0].rsplit(".", 1)[0] for q in answerable]
    found = sum(
        any(h.url.startswith(prefix) for h in hits)
        for prefix, hits in zip(gold, results, strict=True)
    )
    assert found / len(answerable) >= 0.9, f"{found}/{len(answerable)}"


async def test_full_text_searches_rare_words_within_its_budget(
    engine: AsyncEngine, store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    sections = {f"Rule {n}": f"Leave rule number {n} applies to everyone." for n in range(300)}
    sections["Calibration"] = "Calibration sessions happen twice a year."
    document = policy(title="Handbook", sections=sections)
    await store.upsert(document, chunk_document(document))
    budgeted = PgHybridRetriever(
        engine, embedder, RetrievalOptions(text_match_budget=50, stats_refresh_seconds=0)
    )
    question = "leave calibration"
    assert await budgeted.text_terms(question) == "'calibr' | 'leav'"  # no statistics yet
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE chunks"))
    assert await budgeted.text_terms(question) == "'calibr'"
    assert await budgeted.text_terms("leave") == ""
    hits = await budgeted.search(Query(question, k=1))
    assert hits[0].section == "Calibration"


async def test_each_hit_carries_its_sentences_scored_against_the_question(
    store: PgDocumentStore, retriever: PgHybridRetriever, embedder: HashingEmbedder
) -> None:
    document = policy(
        url="https://hb.test/travel",
        title="Travel Policy",
        sections={
            "Booking": "Book flights through the travel portal. Trains are booked the same way. "
            "Hotels must be under 150 pounds a night in London."
        },
    )
    await store.upsert(document, chunk_document(document))
    question = "how much can a hotel night in London cost"
    [hit] = await retriever.search(Query(question, k=1))

    assert [s.text for s in hit.sentences] == [
        "Book flights through the travel portal.",
        "Trains are booked the same way.",
        "Hotels must be under 150 pounds a night in London.",
    ]
    vectors = await embedder.embed(
        [question, *(f"Travel Policy › Booking: {s.text}" for s in hit.sentences)]
    )
    expected = [float(vectors[0] @ v) for v in vectors[1:]]
    assert [s.similarity for s in hit.sentences] == pytest.approx(expected, abs=1e-5)
    assert hit.best_sentence_similarity == pytest.approx(max(expected), abs=1e-5)
    assert max(expected) == expected[2]


def test_a_passage_whose_one_sentence_answers_is_ranked_above_one_on_the_topic() -> None:
    def chunk(chunk_id: str, score: float, best: float) -> ScoredChunk:
        sentences = (ScoredSentence("other", 0.1), ScoredSentence("best", best))
        return ScoredChunk(chunk_id, "d", "T", "S", ("T",), "u", "text", score, 0.5, sentences)

    options = RetrievalOptions(rrf_k=10, sentence_weight=1.0)
    on_topic, answers = chunk("topic", 0.150, best=0.40), chunk("answer", 0.145, best=0.80)
    assert [c.chunk_id for c in rescored([on_topic, answers], options)] == ["answer", "topic"]
    # Without sentences (stored before they were), the fused order stands.
    bare = [dataclasses.replace(c, sentences=()) for c in (on_topic, answers)]
    assert [c.chunk_id for c in rescored(bare, options)] == ["topic", "answer"]
    # With no weight on sentences, too.
    no_weight = RetrievalOptions(rrf_k=10, sentence_weight=0.0)
    assert [c.chunk_id for c in rescored([on_topic, answers], no_weight)] == ["topic", "answer"]


async def test_tied_passages_come_back_in_one_order(
    engine: AsyncEngine, store: PgDocumentStore, embedder: HashingEmbedder
) -> None:
    # Six pages with the same title and text tie on every list of the search, as a sentence
    # repeated across a handbook does, and the sentence list keeps only one. Stored in the reverse
    # of their chunks' id order, the one kept and the order must still follow the ids, every time.
    copies = [
        policy(
            url=f"https://hb.test/office-{n}",
            title="Office Guide",
            sections={"Wifi": "The office wifi network is called Guest and needs no password."},
        )
        for n in range(6)
    ]
    by_id = sorted(((chunk_document(c), c) for c in copies), key=lambda pair: pair[0][0].id)
    for document_chunks, copy in reversed(by_id):
        await store.upsert(copy, document_chunks)
    options = RetrievalOptions(min_similarity=0.0, candidates=10, sentence_candidates=1)
    retriever = PgHybridRetriever(engine, embedder, options)
    question = Query("what is the office wifi network called", k=2)

    hits = await retriever.search(question)

    assert [h.url for h in hits] == [chunks[0].url for chunks, _ in by_id[:2]]
    for _ in range(3):
        assert await retriever.search(question) == hits
