"""The fitted order of the search's candidates: its signals, the shipped model, fitting it, and
the search using it against real Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.prompts import Prompts
from bot.evaluation.ranking_fit import fit_on_pools
from bot.service.settings import Settings, SettingsError
from bot.service.wiring import answer_version, retrieval_options
from knowledge.embedders import HashingEmbedder, LocalEmbedder
from knowledge.ranking import FITTED_FOR_MINILM, SIGNALS, RankingModel, candidate_signals
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions
from knowledge.store import PgDocumentStore
from knowledge.types import ListRanks, Query, ScoredChunk, ScoredSentence
from tests.test_retrieval import add_corpus


def chunk(
    chunk_id: str,
    text: str,
    *,
    document: str = "d",
    similarity: float = 0.5,
    best: float = 0.5,
    ranks: ListRanks | None = None,
) -> ScoredChunk:
    sentences = (ScoredSentence("other", best - 0.2), ScoredSentence(text, best))
    return ScoredChunk(
        chunk_id, document, "Handbook", text, ("Handbook",), "u", text, 0.1, similarity,
        sentences, ranks=ranks or ListRanks(1, None, 1),
    )  # fmt: skip


def signal(rows: list[tuple[float, ...]], name: str) -> list[float]:
    return [row[SIGNALS.index(name)] for row in rows]


def test_signals_are_measured_against_the_pool() -> None:
    pool = [
        chunk("topic", "Sick leave is part of our leave policy.", similarity=0.6, best=0.7,
              ranks=ListRanks(1, None, 2)),
        chunk("answer", "Log sick days in BambooHR before noon.", document="e", similarity=0.5,
              best=0.6, ranks=ListRanks(3, 1, None)),
    ]  # fmt: skip
    rows = candidate_signals("do i log sick days in bamboohr?", pool)
    assert len(rows) == 2 and all(len(row) == len(SIGNALS) for row in rows)
    assert signal(rows, "vector_list") == [pytest.approx(1 / 11), pytest.approx(1 / 13)]
    assert signal(rows, "text_list") == [0.0, pytest.approx(1 / 11)]
    assert signal(rows, "best_sentence_behind") == [0.0, pytest.approx(-0.1)]
    assert signal(rows, "similarity_behind") == [0.0, pytest.approx(-0.1)]
    # "sick" is in both, "bamboohr" and "log" only in the answer: the rare words tell them apart.
    rare = signal(rows, "rare_words")
    assert rare[1] > rare[0] > 0
    assert candidate_signals("anything", []) == []


def test_the_shipped_model_lifts_the_passage_holding_the_questions_rare_words() -> None:
    on_topic = chunk(
        "topic",
        "Sick leave is part of our wider leave and absence policy.",
        similarity=0.62,
        best=0.66,
        ranks=ListRanks(1, 3, 1),
    )
    answers = chunk(
        "answer",
        "Log sick days in BambooHR and tell your manager.",
        document="e",
        similarity=0.55,
        best=0.64,
        ranks=ListRanks(4, 1, 3),
    )
    question = "do i log sick days in bamboohr or just tell my manager?"
    ordered = FITTED_FOR_MINILM.ordered(question, [on_topic, answers])
    assert [c.chunk_id for c in ordered] == ["answer", "topic"]
    # Each carries the model's score, so what comes after (the writer) can weigh its place.
    assert ordered[0].score > ordered[1].score and ordered[0].score != answers.score
    # Nothing added or dropped, whatever the order.
    again = FITTED_FOR_MINILM.ordered("leave", [on_topic, answers])
    assert {c.chunk_id for c in again} == {"topic", "answer"}


def test_a_model_needs_a_weight_per_signal() -> None:
    with pytest.raises(ValueError, match="14 weights"):
        RankingModel(weights=(1.0, 2.0), bias=0.0)


def test_fitting_learns_which_signal_marks_the_answer() -> None:
    # In every pool the passage holding the answer is the one the full-text list put first,
    # while the vector list put it last: the fit must learn to trust the full-text list.
    pools = []
    for n in range(30):
        pool = [
            chunk(f"{n}-{i}", f"passage {i} of question {n}", document=f"d{i}",
                  ranks=ListRanks(i + 1, 6 - i, None))
            for i in range(6)
        ]  # fmt: skip
        pools.append((f"question {n}", pool, [i == 5 for i in range(6)]))
    fit = fit_on_pools(pools, k=1)
    assert (fit.questions, fit.candidates, fit.k) == (30, 180, 1)
    assert fit.before == 0.0 and fit.after == 1.0
    weights = dict(zip(SIGNALS, fit.model.weights, strict=True))
    assert weights["text_list"] > 0 > weights["vector_list"]
    with pytest.raises(ValueError, match="hold their answer"):
        fit_on_pools([(q, pool, [False] * len(pool)) for q, pool, _ in pools], k=1)


async def test_the_search_reports_each_lists_places_and_orders_by_the_model(
    store: PgDocumentStore,
    retriever: PgHybridRetriever,
    engine: AsyncEngine,
    embedder: HashingEmbedder,
) -> None:
    await add_corpus(store)
    fused = await retriever.search(Query("lost laptop security team", k=6))
    assert fused[0].section == "Lost laptop"
    assert fused[0].ranks is not None and fused[0].ranks.text == 1
    assert all(h.ranks is not None for h in fused)
    # A model that weighs only the vector list orders the pool by the vector list's places.
    vector_only = RankingModel(weights=(1.0,) + (0.0,) * (len(SIGNALS) - 1), bias=0.0)
    ranked = PgHybridRetriever(
        engine, embedder, RetrievalOptions(min_similarity=0.0, ranking=vector_only)
    )
    hits = await ranked.search(Query("lost laptop security team", k=6))
    places = [h.ranks.vector for h in hits if h.ranks and h.ranks.vector]
    assert places == sorted(places) and len(places) >= 2
    assert {h.chunk_id for h in hits} == {h.chunk_id for h in fused}
    # Unranked, the same search gives the fusion's order again.
    again = await ranked.unranked().search(Query("lost laptop security team", k=6))
    assert [h.chunk_id for h in again] == [h.chunk_id for h in fused]


def test_the_fitted_ranking_is_used_only_with_the_model_it_was_fitted_for() -> None:
    settings = Settings.from_env({})
    assert retrieval_options(settings, LocalEmbedder()).ranking == FITTED_FOR_MINILM
    assert retrieval_options(settings, HashingEmbedder()).ranking is None


def test_a_ranking_fitted_for_another_model_is_set_as_fit_ranking_prints_it() -> None:
    own = RankingModel(weights=tuple(float(n) for n in range(14)), bias=-1.5)
    assert RankingModel.parse(own.as_setting()) == own
    assert FITTED_FOR_MINILM.as_setting().startswith("vector_list=0.5793 text_list=11.8953 ")
    settings = Settings.from_env({"SUPPORTBOT_RANKING_MODEL": own.as_setting()})
    assert retrieval_options(settings, HashingEmbedder()).ranking == own
    assert retrieval_options(settings, LocalEmbedder()).ranking == own, "the operator's wins"
    # It changes the answers, so it is part of the cache key.
    prompts = Prompts.load()
    assert answer_version(settings, prompts) != answer_version(Settings.from_env({}), prompts)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("bias=1", "SUPPORTBOT_RANKING_MODEL: missing vector_list, text_list"),
        ("speed=3", "SUPPORTBOT_RANKING_MODEL: unknown name 'speed' (expected vector_list"),
        ("vector_list=fast", "SUPPORTBOT_RANKING_MODEL: vector_list must be a number, got 'fast'"),
    ],
)
def test_a_bad_ranking_model_is_named(value: str, error: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SUPPORTBOT_RANKING_MODEL": value})
    assert str(raised.value).startswith(error)
