"""Fitting which sentences the offline writer quotes on an evaluation set (``supportbot eval
--fit-quoting``).

Each answerable question with gold evidence, asked alone, is searched as the answer flow
searches it; every sentence of its sources is one row of signals (``bot/core/quoting.py``),
labelled by whether it holds a gold evidence sentence. The logistic regression is fitted as the
ranking's is (``logistic.py``); its weights are what ``bot/core/quoting.py`` ships, and they
must be reported on sets other than the one they were fitted on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bot.core.quoting import SIGNALS, QuotingModel, SourceSentence, asks, sentence_signals
from bot.evaluation.corpus import EvalCorpus
from bot.evaluation.dataset import EvalSet
from bot.evaluation.logistic import fit_standardised
from bot.evaluation.metrics import holds_evidence
from knowledge.types import PUBLIC_SCOPE, Query

_L2 = 1.0


@dataclass(frozen=True)
class QuotingFit:
    """The fitted model, and on its own questions the share whose first sentence (questions
    left out) holds gold evidence when chosen by similarity (``before``) and by the model."""

    model: QuotingModel
    questions: int
    sentences: int
    before: float
    after: float


async def fit_quoting(
    corpus: EvalCorpus, eval_set: EvalSet, with_context: bool, top_k: int
) -> QuotingFit:
    """Fit the quoting model on ``eval_set``'s questions with evidence, asked alone."""
    questions: list[tuple[list[SourceSentence], list[tuple[float, ...]], list[bool]]] = []
    for case in eval_set.cases:
        if not case.answerable or case.history or not case.gold_evidence:
            continue
        asked = case.asked(with_context=with_context)
        scopes = tuple(sorted({PUBLIC_SCOPE, *case.scopes}))
        sources = await corpus.kb.retriever.search(Query(asked, top_k, scopes=scopes))
        signals = sentence_signals(asked, sources)
        if signals:
            sentences = [s for s, _ in signals]
            held = [holds_evidence(s.text, case.gold_evidence) for s in sentences]
            questions.append((sentences, [row for _, row in signals], held))
    y = np.array([float(h) for _, _, held in questions for h in held])
    if not questions or y.min() == y.max():
        raise ValueError("fitting the quoting needs questions whose sources hold their evidence")
    x = np.array([row for _, rows, _ in questions for row in rows], dtype=np.float64)
    weights, bias = fit_standardised(x, y, _L2)
    model = QuotingModel(weights, bias)
    similarity = SIGNALS.index("similarity")

    def first_holds(score: Callable[[tuple[float, ...]], float]) -> float:
        found = 0
        for sentences, rows, held in questions:
            quotable = [i for i, s in enumerate(sentences) if not asks(s.text)] or [0]
            found += held[max(quotable, key=lambda i: score(rows[i]))]
        return found / len(questions)

    return QuotingFit(
        model,
        len(questions),
        len(y),
        before=first_holds(lambda row: row[similarity]),
        after=first_holds(model.score),
    )
