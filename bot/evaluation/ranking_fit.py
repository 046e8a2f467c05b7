"""Fitting the order of the search's candidates on an evaluation set (``supportbot eval
--fit-ranking``).

Each answerable question asked alone is searched without a fitted ranking; every candidate of
its pool is one row of signals (``knowledge/ranking.py``), labelled by whether it holds a gold
evidence sentence (or, for a question without evidence, comes from a gold document). A logistic
regression on standardised signals, with some L2 regularisation, is fitted and folded back into
weights on the raw signals (``logistic.py``): those are what ``knowledge/ranking.py`` ships,
and they must be reported on sets other than the one they were fitted on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.evaluation.corpus import EvalCorpus
from bot.evaluation.dataset import EvalSet
from bot.evaluation.logistic import fit_standardised
from bot.evaluation.metrics import holds_evidence
from knowledge.ranking import RankingModel, candidate_signals
from knowledge.retrieval import RetrievalOptions
from knowledge.types import PUBLIC_SCOPE, Query, ScoredChunk

_L2 = 0.1
# A question, its candidates in fusion order, and which of them hold its answer.
Pool = tuple[str, list[ScoredChunk], list[bool]]


@dataclass(frozen=True)
class RankingFit:
    """The fitted model, and on its own questions the share whose first relevant candidate is
    in the top k in fusion order (``before``) and in the model's order (``after``)."""

    model: RankingModel
    questions: int
    candidates: int
    k: int
    before: float
    after: float


async def fit_ranking(
    corpus: EvalCorpus, eval_set: EvalSet, with_context: bool, k: int
) -> RankingFit:
    """Fit the ranking on ``eval_set``'s answerable questions that are asked alone."""
    retriever = corpus.kb.retriever.unranked()
    depth = RetrievalOptions().rescore_depth
    pools: list[Pool] = []
    for case in eval_set.cases:
        if not case.answerable or case.history or not (case.gold_evidence or case.gold_documents):
            continue
        asked = case.asked(with_context=with_context)
        scopes = tuple(sorted({PUBLIC_SCOPE, *case.scopes}))
        pool = await retriever.search(Query(asked, depth, scopes=scopes))
        gold = {corpus.resolve(reference) for reference in case.gold_documents}
        labels = [
            holds_evidence(c.text, case.gold_evidence)
            if case.gold_evidence
            else c.document_id in gold
            for c in pool
        ]
        if pool:
            pools.append((asked, pool, labels))
    return fit_on_pools(pools, k)


def fit_on_pools(pools: Sequence[Pool], k: int) -> RankingFit:
    """Fit the ranking on questions' candidate pools, each labelled candidate by candidate."""
    rows = [row for asked, pool, _ in pools for row in candidate_signals(asked, pool)]
    y = np.array([float(label) for _, _, labels in pools for label in labels])
    if not rows or y.min() == y.max():
        raise ValueError("fitting the ranking needs questions whose candidates hold their answer")
    weights, bias = fit_standardised(np.array(rows, dtype=np.float64), y, _L2)
    model = RankingModel(weights, bias)
    before = _found(pools, k, lambda asked, pool: pool)
    after = _found(pools, k, model.ordered)
    return RankingFit(model, len(pools), len(rows), k, before, after)


def _found(
    pools: Sequence[Pool], k: int, order: Callable[[str, list[ScoredChunk]], Sequence[ScoredChunk]]
) -> float:
    found = 0
    for asked, pool, labels in pools:
        relevant = {c.chunk_id for c, label in zip(pool, labels, strict=True) if label}
        found += any(c.chunk_id in relevant for c in order(asked, pool)[:k])
    return found / len(pools)
